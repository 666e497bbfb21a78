// Benchmark: create a change request with 10,000 targets, plan included, on SQLite (issue 3: under 3 s).
// Run: npm run bench:change-request-create   (BENCH_TARGETS=n to change the size; TEST_DATABASE_URL for PostgreSQL)
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { TenantsService } from '../src/tenants/tenants.service';
import { bearer, startTestApp } from '../test/support/test-app';
import { createApps, crBody, installations, tenantRows } from '../test/support/factories';

const N = Number(process.env.BENCH_TARGETS ?? 10_000);

async function main(): Promise<void> {
  const t = await startTestApp();
  try {
    await createApps(t);
    const rows = tenantRows(N);
    await t.app.get(TenantsService).importMany('bench', rows);
    const maker = await t.userToken(['maker']);
    const body = crBody({
      targets: installations(
        rows.map((r) => r.id),
        'insight',
      ),
    });
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      const res = await t.http().post('/api/change-requests').set(bearer(maker.token)).send(body);
      runs.push(performance.now() - start);
      if (res.status !== 201)
        throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
      if (i === 0) {
        console.log(
          `change request: ${res.body.plan.summary.targetCount} targets, waves ${JSON.stringify(res.body.plan.summary.waveSizes)}, ` +
            `${res.body.requiredApprovals} approvals, response ${(res.text.length / 1024).toFixed(0)} KiB`,
        );
      }
    }
    const ds = t.app.get(DataSource);
    const [{ n: planRows }] = await ds.query('SELECT COUNT(*) AS n FROM change_request_plans');
    console.log(
      `create (HTTP, plan built, hashed and stored): ${runs.map((ms) => `${ms.toFixed(0)} ms`).join(', ')}`,
    );
    console.log(`plan rows stored: ${planRows} for ${runs.length} change requests (one per CR)`);
    console.log(`budget 3000 ms on SQLite: ${Math.max(...runs) < 3000 ? 'OK' : 'OVER'}`);
  } finally {
    await t.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
