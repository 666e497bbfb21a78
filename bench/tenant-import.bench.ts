// Benchmark: import 10,000 tenants with 3 installations each on SQLite (issue 3: under 5 s).
// Run: npm run bench:tenant-import   (BENCH_TENANTS=n to change the size; TEST_DATABASE_URL for PostgreSQL)
import { performance } from 'node:perf_hooks';
import { TenantsService } from '../src/tenants/tenants.service';
import { bearer, startTestApp } from '../test/support/test-app';
import { createApps, tenantRows } from '../test/support/factories';

const N = Number(process.env.BENCH_TENANTS ?? 10_000);

async function main(): Promise<void> {
  const t = await startTestApp();
  try {
    await createApps(t);
    // 1. Through HTTP, as CSV (the bulk path: 10,000 rows fit the 1 MiB body limit).
    const csv = [
      'id,name,tier,region,apps',
      ...tenantRows(N, { prefix: 'csv' }).map(
        (r) => `${r.id},${r.name},${r.tier},${r.region},jira;confluence;insight`,
      ),
    ].join('\n');
    let start = performance.now();
    const res = await t
      .http()
      .post('/api/tenants')
      .set(bearer(t.adminToken))
      .set('Content-Type', 'text/csv')
      .send(csv);
    const httpMs = performance.now() - start;
    if (res.status !== 201)
      throw new Error(`import failed: ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
    console.log(
      `tenant import, HTTP CSV (${(csv.length / 1024).toFixed(0)} KiB): ${res.body.imported} tenants, ${res.body.installations} installations in ${httpMs.toFixed(0)} ms`,
    );

    // 2. The same import through the service with JSON rows (what POST {tenants:[...]} runs, without the body limit).
    const rows = tenantRows(N, { prefix: 'json' });
    start = performance.now();
    const out = await t.app.get(TenantsService).importMany('bench', rows);
    const svcMs = performance.now() - start;
    console.log(
      `tenant import, service JSON rows: ${out.imported} tenants, ${out.installations} installations in ${svcMs.toFixed(0)} ms`,
    );
    const budget = 5000;
    console.log(`budget ${budget} ms on SQLite: ${Math.max(httpMs, svcMs) < budget ? 'OK' : 'OVER'}`);
  } finally {
    await t.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
