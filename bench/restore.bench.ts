// Benchmark (issue 12): per-tenant point-in-time restore and the cost of change capture on the engine.
//  1. Change-capture overhead: installation.deactivate over BENCH_CAPTURE_TARGETS targets per round (zero bake), in
//     ONE app and ONE database, rounds in ABBA blocks (capture on, off, off, on) so that the database's growth and
//     the machine's load fall on both sides alike. "Off" drops the capture triggers (the statements of the capture
//     migration's down()); "on" recreates them with the migration's own createCaptureTriggers. On SQLite the
//     TransactionRunner still bumps capture_tx (one single-row UPDATE at the start and end of each transaction,
//     one transaction per batch) in both: that part of the cost is not in the difference.
//  2. Restore time per tenant: BENCH_RESTORE_TENANTS tenants (3 installations with data each) deleted outright by a
//     plain database client, restored to the moment before by a tenant.restore change request (zero bake), read
//     from the archive's segment files (the archiver runs every second and the restore waits until it has shipped
//     the moment) plus the capture table; timed from execute to completed.
//  3. The DR drill of test/restore-drill.e2e-spec.ts (100 of 500 deleted at T, restored to T - 1 s): RTO, RPO.
// Run: npm run bench:restore   (TEST_DATABASE_URL=postgres://… for PostgreSQL; BENCH_CAPTURE_TARGETS=2000,
// BENCH_CAPTURE_BLOCKS=2 (of four rounds: on, off, off, on), BENCH_RESTORE_TENANTS=1000, BENCH_DRILL=0 to skip it)
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { ArchiveReader } from '../src/archive/archive.reader';
import { ArchiveService } from '../src/archive/archive.service';
import { CAPTURED_TABLES } from '../src/archive/capture.tables';
import { createCaptureTriggers, currentSchema } from '../src/database/migrations/capture.sql';
import { TenantsService } from '../src/tenants/tenants.service';
import { plainClient, runDrill } from '../test/support/dr-drill';
import {
  approveCr,
  createApps,
  createCr,
  crBody,
  installations,
  submitCr,
  tenantRows,
} from '../test/support/factories';
import { bearer, startTestApp, TestApp } from '../test/support/test-app';

const CAPTURE_TARGETS = Number(process.env.BENCH_CAPTURE_TARGETS ?? 2000);
// Blocks of four rounds each (on, off, off, on).
const CAPTURE_BLOCKS = Number(process.env.BENCH_CAPTURE_BLOCKS ?? 2);
const RESTORE_TENANTS = Number(process.env.BENCH_RESTORE_TENANTS ?? 1000);
const DRILL = process.env.BENCH_DRILL !== '0';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out = (line: string) => process.stdout.write(`${line}\n`);

/** Drops (off) or recreates (on) the capture triggers of every captured table, as the capture migration does. */
async function setCapture(ds: DataSource, on: boolean): Promise<void> {
  const qr = ds.createQueryRunner();
  try {
    for (const t of CAPTURED_TABLES) {
      if (on) await createCaptureTriggers(qr, t);
      else if (ds.options.type === 'postgres')
        await qr.query(`DROP TRIGGER IF EXISTS wavegate_capture ON "${await currentSchema(qr)}"."${t.name}"`);
      else
        for (const kind of ['insert', 'update', 'delete'])
          await qr.query(`DROP TRIGGER IF EXISTS "wavegate_capture_${t.name}_${kind}"`);
    }
  } finally {
    await qr.release();
  }
}

async function countChanges(ds: DataSource): Promise<number> {
  const r = (await ds.query('SELECT COUNT(*) AS n FROM row_changes')) as Array<{ n: string | number }>;
  return Number(r[0].n);
}

/** Approves (with as many checkers as required), executes and waits; returns ms from execute to completed. */
async function runCr(t: TestApp, body: Record<string, unknown>, expected: number): Promise<number> {
  const maker = await t.userToken(['maker']);
  const checkers = [await t.userToken(['checker']), await t.userToken(['checker'])];
  const cr = await createCr(t, maker.token, crBody(body as never));
  await submitCr(t, maker.token, cr.id);
  for (const c of checkers.slice(0, cr.requiredApprovals)) await approveCr(t, c.token, cr);
  const start = performance.now();
  const res = await t.http().post(`/api/change-requests/${cr.id}/execute`).set(bearer(checkers[0].token));
  if (res.status !== 200) throw new Error(`execute failed: ${res.status} ${JSON.stringify(res.body)}`);
  for (;;) {
    const p = await t.http().get(`/api/change-requests/${cr.id}/progress`).set(bearer(checkers[0].token));
    if (p.body.status === 'completed') {
      if (p.body.progress.succeeded !== expected)
        throw new Error(`only ${p.body.progress.succeeded} of ${expected} succeeded`);
      return performance.now() - start;
    }
    if (p.body.status !== 'running') throw new Error(`CR ended ${p.body.status}: ${p.body.statusReason}`);
    await sleep(50);
  }
}

async function captureOverhead(t: TestApp): Promise<void> {
  const ds = t.app.get(DataSource);
  const order = Array.from({ length: CAPTURE_BLOCKS }, () => [true, false, false, true]).flat();
  const rates: Record<'on' | 'off', number[]> = { on: [], off: [] };
  for (const [i, on] of order.entries()) {
    const rows = tenantRows(CAPTURE_TARGETS, { prefix: `c${i}x` });
    await t.app.get(TenantsService).importMany('bench', rows);
    await setCapture(ds, on);
    const before = await countChanges(ds);
    const ms = await runCr(
      t,
      {
        title: `capture ${on ? 'on' : 'off'} round ${i + 1}`,
        targets: installations(
          rows.map((r) => r.id),
          'insight',
        ),
        waves: { bakeSeconds: 0 },
        ticket: 'BENCH',
      },
      CAPTURE_TARGETS,
    );
    const captured = (await countChanges(ds)) - before;
    const rate = (CAPTURE_TARGETS / ms) * 1000;
    rates[on ? 'on' : 'off'].push(rate);
    out(
      `capture ${on ? 'on ' : 'off'} round ${i + 1}: ${CAPTURE_TARGETS} targets in ${(ms / 1000).toFixed(2)} s, ` +
        `${Math.round(rate)} targets/s (${captured} changes captured)`,
    );
  }
  await setCapture(ds, true);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const on = mean(rates.on);
  const off = mean(rates.off);
  out(
    `capture overhead: ${Math.round(off)} targets/s without capture, ${Math.round(on)} with: ` +
      `${(((off - on) / off) * 100).toFixed(1)} % fewer targets/s with capture`,
  );
}

async function restorePerTenant(t: TestApp): Promise<void> {
  // A base first: the restorable window starts at the archive's first base (ADR 0014), and the moment must be in it.
  await t.app.get(ArchiveService).base();
  await t.app.get(TenantsService).importMany(
    'bench',
    tenantRows(RESTORE_TENANTS, { prefix: 'r' }).map((r, i) => ({
      ...r,
      installations: r.installations.map((x, k) => ({
        ...x,
        data: { pages: i * 10 + k, owner: `owner${i}@example.com`, nested: { list: [i, k, null] } },
      })),
    })),
  );
  const ids = tenantRows(RESTORE_TENANTS, { prefix: 'r' }).map((r) => r.id);
  await sleep(50);
  const M = new Date();
  await sleep(50);
  const db = await plainClient(t.database);
  try {
    const marks = (xs: string[]) => xs.map(() => '?').join(', ');
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      await db.exec([
        [`DELETE FROM installations WHERE tenant_id IN (${marks(chunk)})`, chunk],
        [`DELETE FROM tenants WHERE id IN (${marks(chunk)})`, chunk],
      ]);
    }
  } finally {
    await db.close();
  }
  // Read from the archive's files: wait until the archiver has shipped past the moment.
  const reader = t.app.get(ArchiveReader);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const through = (await reader.restorableWindow()).archivedThrough;
    if (through && through.getTime() >= M.getTime()) break;
    if (Date.now() > deadline) throw new Error('the archive did not ship the moment within 60 s');
    await sleep(200);
  }
  const ms = await runCr(
    t,
    {
      title: `restore ${RESTORE_TENANTS} tenants`,
      operation: 'tenant.restore',
      params: { source: { pointInTime: M.toISOString() } },
      targets: ids.map((id) => ({ type: 'tenant', id })),
      waves: { bakeSeconds: 0 },
      ticket: 'BENCH',
    },
    RESTORE_TENANTS,
  );
  out(
    `restore: ${RESTORE_TENANTS} tenants deleted outright (4 rows each) restored to a moment in ` +
      `${(ms / 1000).toFixed(2)} s: ${(ms / RESTORE_TENANTS).toFixed(2)} ms per tenant, ` +
      `${Math.round((RESTORE_TENANTS / ms) * 1000)} tenants/s`,
  );
}

async function main(): Promise<void> {
  process.env.WAVEGATE_ENGINE_POLL_MS ??= '20';
  const db = process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'SQLite';
  out(
    `database: ${db}; node ${process.version}; ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}; ` +
      `load ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
  );
  let t = await startTestApp();
  try {
    await createApps(t);
    await captureOverhead(t);
  } finally {
    await t.close();
  }
  t = await startTestApp({ env: { WAVEGATE_ARCHIVE_INTERVAL_SECONDS: '1' } });
  try {
    await createApps(t);
    await restorePerTenant(t);
  } finally {
    await t.close();
  }
  if (DRILL) {
    t = await startTestApp({ env: { WAVEGATE_ARCHIVE_INTERVAL_SECONDS: '1' } });
    try {
      const archive = t.app.get(ArchiveReader);
      const r = await runDrill(t, {
        tenants: 500,
        deleted: 100,
        newestRestorable: async () => (await archive.restorableWindow()).newest,
        archivedThrough: async () => (await archive.restorableWindow()).archivedThrough,
        waves: { sizes: [1, 9, 90], bakeSeconds: 0 },
      });
      if (r.mismatches.length) throw new Error(`drill mismatches: ${r.mismatches.slice(0, 3).join('; ')}`);
      out(
        `DR drill: ${r.restored} of 500 tenants restored to T - 1 s, RTO ${(r.rtoMs / 1000).toFixed(2)} s ` +
          `(approval -> last tenant restored), RPO ${(r.rpoMs / 1000).toFixed(2)} s (capture table + archive), ` +
          `${r.archiveRpoMs === null ? 'no segment yet' : `${(r.archiveRpoMs / 1000).toFixed(2)} s`} from the archive's files alone`,
      );
    } finally {
      await t.close();
    }
  }
  out(
    `load after: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
