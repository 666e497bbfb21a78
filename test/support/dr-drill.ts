// The disaster-recovery drill (issue 12), shared by test/restore-drill.e2e-spec.ts and bench/restore.bench.ts:
// tenants under steady writes, a script OUTSIDE Wavegate (a plain database client) deletes some of them straight
// from the database at T, and a reviewed tenant.restore change request puts them back as they were at T - 1 s.
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { performance } from 'node:perf_hooks';
import { approveCr, createActors, createApps, createCr, crBody, submitCr } from './factories';
import { bearer, TestApp, TestDatabase } from './test-app';

export type PlainRow = Record<string, unknown>;

/**
 * A plain database client, as the outage's script had: its own connection, raw SQL with `?` placeholders, no code
 * of Wavegate's. Reads return every column exactly as stored: on PostgreSQL each row as `to_jsonb` text in a UTC
 * session (timestamps to the microsecond, no JS Date in between), on SQLite the stored values.
 */
export interface PlainClient {
  exec(statements: Array<[string, unknown[]?]>): Promise<void>;
  rows(table: 'tenants' | 'installations', where: string, params: unknown[]): Promise<PlainRow[]>;
  close(): Promise<void>;
}

export async function plainClient(db: TestDatabase): Promise<PlainClient> {
  if (db.schema) {
    const u = new URL(db.databaseUrl);
    u.searchParams.delete('schema');
    const c = new Client({ connectionString: u.toString() });
    await c.connect();
    await c.query(`SET TIME ZONE 'UTC'; SET search_path TO ${db.schema}`);
    const pg = (sql: string) => {
      let i = 0;
      return sql.replace(/\?/g, () => `$${++i}`);
    };
    return {
      async exec(statements) {
        await c.query('BEGIN');
        try {
          for (const [sql, params] of statements) await c.query(pg(sql), params ?? []);
          await c.query('COMMIT');
        } catch (e) {
          await c.query('ROLLBACK');
          throw e;
        }
      },
      async rows(table, where, params) {
        const r = await c.query<{ j: string }>(
          pg(`SELECT to_jsonb(x)::text AS j FROM ${table} x WHERE ${where}`),
          params,
        );
        return r.rows.map((x) => JSON.parse(x.j) as PlainRow);
      },
      close: () => c.end(),
    };
  }
  const conn = new Database(db.databaseUrl.replace(/^sqlite:/, ''));
  conn.pragma('busy_timeout = 10000');
  return {
    exec(statements) {
      conn.transaction(() => {
        for (const [sql, params] of statements) conn.prepare(sql).run(...(params ?? []));
      })();
      return Promise.resolve();
    },
    rows(table, where, params) {
      return Promise.resolve(
        conn.prepare(`SELECT * FROM ${table} WHERE ${where}`).all(...params) as PlainRow[],
      );
    },
    close() {
      conn.close();
      return Promise.resolve();
    },
  };
}

/** Every row of the tenants, per tenant: its `tenants` row and its installations ordered by app. */
export async function tenantCopies(
  c: PlainClient,
  ids: readonly string[],
): Promise<Map<string, { tenant: PlainRow | null; installations: PlainRow[] }>> {
  const out = new Map<string, { tenant: PlainRow | null; installations: PlainRow[] }>();
  for (const id of ids) out.set(id, { tenant: null, installations: [] });
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    const marks = chunk.map(() => '?').join(', ');
    for (const r of await c.rows('tenants', `id IN (${marks})`, chunk)) {
      (out.get(String(r.id)) as { tenant: PlainRow | null }).tenant = r;
    }
    for (const r of await c.rows('installations', `tenant_id IN (${marks})`, chunk)) {
      out.get(String(r.tenant_id))?.installations.push(r);
    }
  }
  for (const v of out.values())
    v.installations.sort((a, b) => String(a.app_key).localeCompare(String(b.app_key)));
  return out;
}

const APPS = ['jira', 'confluence', 'insight'];

/** n tenants, each with installations carrying data; some regions null, some installations deactivated. */
export async function seedTenants(t: TestApp, n: number): Promise<string[]> {
  await createApps(t);
  const rows = Array.from({ length: n }, (_, i) => ({
    id: `dr${String(i).padStart(4, '0')}`,
    name: `Drill customer ${i}`,
    tier: i < 3 ? 'internal' : i % 10 === 9 ? 'key' : 'standard',
    ...(i % 7 === 0 ? {} : { region: i % 2 ? 'eu' : 'us' }),
    attributes: { plan: i % 3 ? 'team' : 'enterprise', seats: i, note: i % 5 ? null : 'ünïcødé "quoted"' },
    installations: APPS.slice(0, 1 + (i % 3)).map((appKey, k) => ({
      appKey,
      data: { pages: i * 10 + k, owner: `owner${i}@example.com`, nested: { list: [i, k, null] } },
    })),
  }));
  for (let i = 0; i < rows.length; i += 1000) {
    const res = await t
      .http()
      .post('/api/tenants')
      .set(bearer(t.adminToken))
      .send({ tenants: rows.slice(i, i + 1000) });
    if (res.status !== 201)
      throw new Error(`import failed: ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
  }
  return rows.map((r) => r.id);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One write of the platform's, through the plain client: an installation's data and timestamps change (on
 * PostgreSQL with microseconds), sometimes a status flips and `deactivated_at` goes from null to a value and back.
 */
async function platformWrite(c: PlainClient, pg: boolean, tenantId: string, n: number): Promise<void> {
  const now = pg ? 'clock_timestamp()' : "strftime('%Y-%m-%d %H:%M:%f', 'now')";
  const deact = n % 4 === 0;
  await c.exec([
    [
      `UPDATE installations SET data = ?, status = ?, deactivated_at = ${deact ? now : 'NULL'}, updated_at = ${now} ` +
        'WHERE tenant_id = ? AND app_key = ?',
      [
        JSON.stringify({ pages: n, write: n, by: 'platform' }),
        deact ? 'deactivated' : 'active',
        tenantId,
        'jira',
      ],
    ],
    [`UPDATE tenants SET updated_at = ${now} WHERE id = ?`, [tenantId]],
  ]);
}

export interface DrillResult {
  restored: number;
  untouched: number;
  writesAfterT: number;
  /** Newest restorable moment at T, behind T (0 when T itself was restorable). */
  rpoMs: number;
  /** T minus the newest change in the archive's files at T (what a loss of the whole database would cost). */
  archiveRpoMs: number | null;
  /** From the approval that made the CR approved to the last tenant restored. */
  rtoMs: number;
  planTargets: Array<{ id: string; state: string; action: string; detail?: Record<string, unknown> }>;
  mismatches: string[];
}

export interface DrillOptions {
  tenants: number;
  deleted: number;
  /** The newest restorable moment now (the archive's reader): the RPO is measured with it at T. */
  newestRestorable: () => Promise<Date>;
  /** The newest change shipped to the archive's files now (null before the first segment). */
  archivedThrough?: () => Promise<Date | null>;
  waves?: Record<string, unknown>;
  log?: (line: string) => void;
}

/** The whole drill on a started app (with change capture and the archive running). */
export async function runDrill(t: TestApp, o: DrillOptions): Promise<DrillResult> {
  const pg = Boolean(t.database.schema);
  const a = await createActors(t);
  const ids = await seedTenants(t, o.tenants);
  // Victims spread over the inventory (every k-th), the way a list of wrong ids would be.
  const step = Math.floor(o.tenants / o.deleted);
  const victims = ids.filter((_, i) => i % step === 1).slice(0, o.deleted);
  const survivors = ids.filter((id) => !victims.includes(id));
  const writer = await plainClient(t.database);
  const reader = await plainClient(t.database);
  try {
    // Steady writes, one at a time so that every write before the reference moment has committed before it.
    let n = 0;
    let stop = false;
    let deletedAt = Infinity;
    let writesAfterT = 0;
    let paused: Promise<void> | null = null;
    let resume: (() => void) | null = null;
    const loop = (async () => {
      while (!stop) {
        if (paused) await paused;
        const i = n++;
        const id = ids[(i * 37) % ids.length];
        if (performance.now() >= deletedAt && victims.includes(id)) continue;
        await platformWrite(writer, pg, id, i);
        if (performance.now() >= deletedAt) writesAfterT++;
        await sleep(2);
      }
    })();
    await sleep(1500);
    // The reference copy at R = T - 1 s, taken between two writes.
    paused = new Promise<void>((r) => (resume = r));
    await sleep(20);
    const reference = await tenantCopies(reader, victims);
    await sleep(5);
    const R = new Date();
    await sleep(5);
    (resume as unknown as () => void)();
    paused = null;
    // T: the bad script deletes the victims straight from the database, outside Wavegate.
    await sleep(R.getTime() + 1000 - Date.now());
    const T = new Date();
    const marks = victims.map(() => '?').join(', ');
    deletedAt = performance.now();
    await writer.exec([
      [`DELETE FROM installations WHERE tenant_id IN (${marks})`, victims],
      [`DELETE FROM tenants WHERE id IN (${marks})`, victims],
    ]);
    const newestAtT = await o.newestRestorable();
    const rpoMs = Math.max(0, T.getTime() - newestAtT.getTime());
    const filesAtT = o.archivedThrough ? await o.archivedThrough() : null;
    const archiveRpoMs = filesAtT ? Math.max(0, T.getTime() - filesAtT.getTime()) : null;
    o.log?.(`T=${T.toISOString()} newest restorable at T=${newestAtT.toISOString()} RPO=${rpoMs} ms`);
    await sleep(1500);
    stop = true;
    await loop;
    // The restore point must be inside the window before the change request can be planned.
    const deadline = Date.now() + 30_000;
    while ((await o.newestRestorable()).getTime() < R.getTime()) {
      if (Date.now() > deadline) throw new Error('the archive never reached the restore point');
      await sleep(100);
    }
    const cr = await createCr(
      t,
      a.maker.token,
      crBody({
        title: `DR: restore ${victims.length} tenants deleted by a script`,
        operation: 'tenant.restore',
        params: { source: { pointInTime: R.toISOString() } },
        targets: victims.map((id) => ({ type: 'tenant', id })),
        waves: o.waves ?? { bakeSeconds: 0 },
        ticket: 'INC-2022-04',
      }),
    );
    const plan = await t.http().get(`/api/change-requests/${cr.id}`).set(bearer(a.checker1.token));
    const planTargets = (plan.body.plan.waves as Array<{ targets: DrillResult['planTargets'] }>).flatMap(
      (w) => w.targets,
    );
    await submitCr(t, a.maker.token, cr.id);
    const before = await tenantCopies(reader, survivors);
    const checkers = [a.checker1.token, a.checker2.token, a.checker3.token];
    for (let i = 0; i < cr.requiredApprovals; i++) await approveCr(t, checkers[i], cr);
    const approvedAt = performance.now();
    const ex = await t.http().post(`/api/change-requests/${cr.id}/execute`).set(bearer(a.checker1.token));
    if (ex.status !== 200) throw new Error(`execute: ${ex.status} ${JSON.stringify(ex.body)}`);
    let rtoMs = 0;
    for (;;) {
      const p = await t.http().get(`/api/change-requests/${cr.id}/progress`).set(bearer(a.viewer.token));
      if (p.body.status === 'completed') {
        rtoMs = performance.now() - approvedAt;
        break;
      }
      if (p.body.status !== 'running')
        throw new Error(`restore CR ${p.body.status}: ${JSON.stringify(p.body)}`);
      if (performance.now() - approvedAt > 120_000) throw new Error('restore did not finish in 120 s');
      await sleep(20);
    }
    const mismatches: string[] = [];
    const restored = await tenantCopies(reader, victims);
    for (const id of victims) {
      if (JSON.stringify(restored.get(id)) !== JSON.stringify(reference.get(id))) {
        mismatches.push(
          `restored ${id}: ${JSON.stringify(restored.get(id))} != reference ${JSON.stringify(reference.get(id))}`,
        );
      }
    }
    const after = await tenantCopies(reader, survivors);
    for (const id of survivors) {
      if (JSON.stringify(after.get(id)) !== JSON.stringify(before.get(id))) {
        mismatches.push(
          `untouched ${id} changed: ${JSON.stringify(after.get(id))} != ${JSON.stringify(before.get(id))}`,
        );
      }
    }
    return {
      restored: victims.length,
      untouched: survivors.length,
      writesAfterT,
      rpoMs,
      archiveRpoMs,
      rtoMs,
      planTargets,
      mismatches,
    };
  } finally {
    await writer.close();
    await reader.close();
  }
}
