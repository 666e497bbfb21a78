// Benchmark of the continuous archive (issue 12, ADR 0014), in one process on a real database:
//  1. archive lag under the engine's full write load: BENCH_TENANTS tenants imported, then one change request
//     (installation.deactivate, zero bake) over all their installations runs at full speed while the scheduler
//     ships segments every WAVEGATE_ARCHIVE_INTERVAL_SECONDS (default 5, as in production). The lag (age of the
//     oldest captured change not yet in a segment, what wavegate_archive_lag_seconds reports) is sampled every
//     250 ms; after the run, the time until everything is archived.
//  2. a logical base of BENCH_TENANTS tenants (sealed per tenant, with parity) and a full verify of the archive;
//     then one tenant's and 100 tenants' rows rebuilt from the base and the segments (ArchiveReader.rowsAt).
// Run: npm run bench:archive   (BENCH_TENANTS=10000 by default; TEST_DATABASE_URL for PostgreSQL;
//      BENCH_ARCHIVE_INTERVAL=5 for the segment interval)
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { ArchiveReader } from '../src/archive/archive.reader';
import { ArchiveService } from '../src/archive/archive.service';
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

const N = Number(process.env.BENCH_TENANTS ?? 10_000);
const INTERVAL = process.env.BENCH_ARCHIVE_INTERVAL ?? '5';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out = (s: string) => process.stdout.write(`${s}\n`);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : 0;
};

async function lagSeconds(archive: ArchiveService): Promise<number> {
  const oldest = await archive.oldestUnarchived();
  return oldest ? Math.max(0, (Date.now() - Date.parse(oldest)) / 1000) : 0;
}

async function maxPosition(t: TestApp): Promise<number> {
  const r = (await t.app
    .get(DataSource)
    .query('SELECT COALESCE(MAX(position), 0) AS p FROM row_changes')) as Array<{ p: number | string }>;
  return Number(r[0].p);
}

/** Waits until every captured change is in a segment; returns how long that took. */
async function drain(archive: ArchiveService): Promise<number> {
  const start = performance.now();
  while ((await archive.oldestUnarchived()) !== null) {
    if (performance.now() - start > 300_000) throw new Error('the archive did not catch up within 5 minutes');
    await sleep(100);
  }
  return performance.now() - start;
}

async function main(): Promise<void> {
  const t = await startTestApp({
    env: { WAVEGATE_ARCHIVE_INTERVAL_SECONDS: INTERVAL, WAVEGATE_ENGINE_POLL_MS: '20' },
  });
  const archive = t.app.get(ArchiveService);
  const reader = t.app.get(ArchiveReader);
  try {
    await createApps(t);
    const rows = tenantRows(N, { prefix: 'ab' });
    let t0 = performance.now();
    await t.app.get(TenantsService).importMany('bench', rows);
    out(`import of ${N} tenants: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    out(`archive caught up with the import in ${((await drain(archive)) / 1000).toFixed(2)} s after it`);

    // 1. Lag under the engine's full write load.
    const maker = await t.userToken(['maker']);
    const c1 = await t.userToken(['checker']);
    const c2 = await t.userToken(['checker']);
    const cr = await createCr(
      t,
      maker.token,
      crBody({
        title: `archive bench ${N}`,
        targets: installations(
          rows.map((r) => r.id),
          'insight',
        ),
        waves: { bakeSeconds: 0 },
        ticket: 'BENCH',
      }),
    );
    await submitCr(t, maker.token, cr.id);
    for (const c of [c1, c2].slice(0, cr.requiredApprovals)) await approveCr(t, c.token, cr);
    const m0 = await archive.manifest();
    const p0 = await maxPosition(t);
    const samples: number[] = [];
    const sampleMs: number[] = [];
    let done = false;
    const sampler = (async () => {
      while (!done) {
        const s0 = performance.now();
        samples.push(await lagSeconds(archive));
        sampleMs.push(performance.now() - s0);
        await sleep(250);
      }
    })();
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    t0 = performance.now();
    const res = await t.http().post(`/api/change-requests/${cr.id}/execute`).set(bearer(c1.token));
    if (res.status !== 200) throw new Error(`execute failed: ${res.status} ${JSON.stringify(res.body)}`);
    for (;;) {
      const p = await t.http().get(`/api/change-requests/${cr.id}/progress`).set(bearer(c1.token));
      if (p.body.status === 'completed') break;
      if (p.body.status !== 'running') throw new Error(`CR ended ${p.body.status}: ${p.body.statusReason}`);
      await sleep(200);
    }
    const runMs = performance.now() - t0;
    loop.disable();
    const drainMs = await drain(archive);
    done = true;
    await sampler;
    const m1 = await archive.manifest();
    const p1 = await maxPosition(t);
    const segs = m1.entries.slice(m0.entries.length).filter((e) => e.kind === 'segment');
    out(
      `engine: ${N} targets in ${(runMs / 1000).toFixed(2)} s (${Math.round((N / runMs) * 1000)} targets/s), ` +
        `${p1 - p0} changes captured (${Math.round(((p1 - p0) / runMs) * 1000)}/s)`,
    );
    out(
      `archive lag during the run (${samples.length} samples every 250 ms, segments every ${INTERVAL} s): ` +
        `median ${pct(samples, 50).toFixed(2)} s, p95 ${pct(samples, 95).toFixed(2)} s, max ${Math.max(...samples).toFixed(2)} s ` +
        `(one sample took ${pct(sampleMs, 50).toFixed(0)} ms median)`,
    );
    out(
      `event-loop delay during the run: p50 ${(loop.percentile(50) / 1e6).toFixed(0)} ms, ` +
        `p99 ${(loop.percentile(99) / 1e6).toFixed(0)} ms, max ${(loop.max / 1e6).toFixed(0)} ms`,
    );
    // Exact, from the files: a change waited from its commit until its segment was written (createdAt - firstAt is
    // the longest wait in that segment).
    const waits = segs.map((e) => (Date.parse(e.createdAt) - Date.parse(e.firstAt as string)) / 1000);
    out(
      `longest wait of a change before its segment was written, per segment: median ${pct(waits, 50).toFixed(2)} s, ` +
        `max ${Math.max(...waits).toFixed(2)} s`,
    );
    out(
      `after the run: archived in ${(drainMs / 1000).toFixed(2)} s; ${segs.length} segments ` +
        `(${segs.reduce((a, e) => a + e.size, 0)} bytes, largest ${Math.max(...segs.map((e) => e.to - e.after))} changes)`,
    );

    // 2. A base of N tenants, and a full verify.
    t0 = performance.now();
    const base = await archive.base();
    const baseMs = performance.now() - t0;
    out(
      `base of ${N} tenants: ${(baseMs / 1000).toFixed(2)} s, ${(base.size / 1e6).toFixed(2)} MB (+ parity), position ${base.to}`,
    );
    t0 = performance.now();
    const report = await archive.verify();
    const verifyMs = performance.now() - t0;
    const live = (await archive.manifest()).entries.filter((e) => !m1.pruned[String(e.seq)]);
    out(
      `verify of the whole archive (${live.length} files listed, ${(live.reduce((a, e) => a + e.size, 0) / 1e6).toFixed(2)} MB, ` +
        `every SHA-256 and parity block): ${(verifyMs / 1000).toFixed(2)} s, ok=${report.ok}`,
    );
    if (!report.ok) throw new Error(`verify found problems: ${JSON.stringify(report)}`);
    const at = new Date();
    t0 = performance.now();
    await reader.rowsAt([rows[0].id], at);
    out(`rowsAt, 1 tenant from the base + segments: ${(performance.now() - t0).toFixed(0)} ms`);
    t0 = performance.now();
    await reader.rowsAt(
      rows.slice(0, 100).map((r) => r.id),
      at,
    );
    out(`rowsAt, 100 tenants at once: ${(performance.now() - t0).toFixed(0)} ms`);
    out(
      `database: ${process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'SQLite'}; node ${process.version}; ` +
        `${cpus()[0]?.model ?? 'cpu'} x${cpus().length}; load average at the end ${loadavg()[0].toFixed(1)}`,
    );
  } finally {
    await t.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
