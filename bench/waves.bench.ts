// Benchmark: run installation.deactivate over 1,000 and then 10,000 targets, zero bake, on SQLite (issue 4: aim
// >= 2,000 targets/s and a run-time ratio under 12, i.e. linear). Every target is a real transaction: guard,
// claim, drift check, effect, audit entry, outbox event.
// Run: npm run bench:waves   (BENCH_SIZES=1000,10000 to change; TEST_DATABASE_URL for PostgreSQL)
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { TenantsService } from '../src/tenants/tenants.service';
import { bearer, startTestApp, TestApp } from '../test/support/test-app';
import {
  approveCr,
  createApps,
  createCr,
  crBody,
  installations,
  submitCr,
  tenantRows,
} from '../test/support/factories';

const SIZES = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number);

async function runOnce(t: TestApp, n: number, prefix: string): Promise<number> {
  const rows = tenantRows(n, { prefix });
  await t.app.get(TenantsService).importMany('bench', rows);
  const maker = await t.userToken(['maker']);
  const c1 = await t.userToken(['checker']);
  const c2 = await t.userToken(['checker']);
  const cr = await createCr(
    t,
    maker.token,
    crBody({
      title: `bench ${n}`,
      targets: installations(
        rows.map((r) => r.id),
        'insight',
      ),
      waves: { bakeSeconds: 0 },
      // The bench measures throughput, not halting: no target fails, and signals are not sent.
      ticket: 'BENCH',
    }),
  );
  await submitCr(t, maker.token, cr.id);
  for (const c of [c1, c2].slice(0, cr.requiredApprovals)) await approveCr(t, c.token, cr);
  const start = performance.now();
  const res = await t.http().post(`/api/change-requests/${cr.id}/execute`).set(bearer(c1.token));
  if (res.status !== 200) throw new Error(`execute failed: ${res.status} ${JSON.stringify(res.body)}`);
  for (;;) {
    const p = await t.http().get(`/api/change-requests/${cr.id}/progress`).set(bearer(c1.token));
    if (p.body.status === 'completed') {
      if (p.body.progress.succeeded !== n)
        throw new Error(`only ${p.body.progress.succeeded} of ${n} succeeded`);
      break;
    }
    if (p.body.status !== 'running') throw new Error(`CR ended ${p.body.status}: ${p.body.statusReason}`);
    // Polled like a dashboard would; each read counts 10,000 rows, so not in a tight loop.
    await new Promise((r) => setTimeout(r, 100));
  }
  return performance.now() - start;
}

async function main(): Promise<void> {
  process.env.WAVEGATE_ENGINE_POLL_MS ??= '20';
  const t = await startTestApp();
  try {
    await createApps(t);
    const times: number[] = [];
    for (const [i, n] of SIZES.entries()) {
      const ms = await runOnce(t, n, `b${i}x`);
      times.push(ms);
      process.stdout.write(
        `${n} targets: ${(ms / 1000).toFixed(2)} s, ${Math.round((n / ms) * 1000)} targets/s\n`,
      );
    }
    if (times.length === 2) process.stdout.write(`ratio of run times: ${(times[1] / times[0]).toFixed(2)}\n`);
    process.stdout.write(
      `database: ${process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'SQLite'}; node ${process.version}; ` +
        `${cpus()[0]?.model ?? 'cpu'} x${cpus().length}\n`,
    );
  } finally {
    await t.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
