import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { ConnectorsService } from '../src/connectors/connectors.service';
import { PostgresConnector } from '../src/connectors/postgres.connector';
import { approveCr } from './support/factories';
import { approvedCr, execute, waitFor } from './support/rollouts';
import { bearer, startTestApp, TestApp } from './support/test-app';

// The platform's database is always PostgreSQL (the machine's, a schema of each suite's own); Wavegate's own storage
// is the pass's (SQLite or PostgreSQL), so these suites run in both passes.
const PLATFORM_URL =
  process.env.TEST_PLATFORM_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test';

describe('postgres connector: capture and restore round-trip', () => {
  const schema = `wg_platform_${randomBytes(5).toString('hex')}`;
  let db: Client;
  let conn: PostgresConnector;
  beforeAll(async () => {
    db = new Client({ connectionString: PLATFORM_URL });
    await db.connect();
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(`SET search_path = ${schema}`);
    await db.query(
      `CREATE TABLE sites (id text PRIMARY KEY, tenant_id text NOT NULL, name text, created timestamptz)`,
    );
    await db.query(`CREATE TABLE items (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant_id text NOT NULL, site_id text REFERENCES sites(id),
      ts timestamp, tstz timestamptz, amount numeric(20,6), big numeric, f8 double precision, j json, jb jsonb,
      blob bytea, tags text[], nums int[], d date, iv interval, u uuid, flag boolean, note text,
      doubled numeric GENERATED ALWAYS AS (amount * 2) STORED)`);
    conn = new PostgresConnector('platform', PLATFORM_URL, [
      { table: `${schema}.sites`, tenantColumn: 'tenant_id' },
      { table: `${schema}.items`, tenantColumn: 'tenant_id' },
    ]);
  });
  afterAll(async () => {
    await conn.close();
    await db.query(`DROP SCHEMA ${schema} CASCADE`);
    await db.end();
  });

  const dump = async (table: string) =>
    (await db.query({ text: `SELECT t::text FROM ${schema}.${table} t ORDER BY 1`, rowMode: 'array' })).rows;

  it('writes back exactly the captured values of every type, touching no other tenant', async () => {
    for (const t of ['a', 'b']) {
      await db.query(
        `INSERT INTO ${schema}.sites VALUES ($1, $2, 'Site ' || $2, '2026-01-02 03:04:05.123456+02')`,
        [`${t}-1`, t],
      );
      await db.query(
        `INSERT INTO ${schema}.items (tenant_id, site_id, ts, tstz, amount, big, f8, j, jb, blob, tags, nums, d, iv, u, flag, note) VALUES
         ($1, $2, '2020-02-29 23:59:59.999999', '1999-12-31 23:59:59.000001+13', 123456789.123456, 1e40 + 0.5,
          0.1 + 0.2, '{"b": 1,  "a": [1, 2.50]}', '{"z": null, "a": {"x": 1.0}}', '\\x00ff10', '{"x y", NULL, "q\\"z"}',
          '{1,2,NULL}', '2024-02-29', '1 year 2 mons 3 days 04:05:06.789', gen_random_uuid(), true, E'line\\nnext ü'),
         ($1, $2, NULL, NULL, NULL, NULL, 'NaN', 'null', '[]', '', '{}', NULL, NULL, NULL, NULL, NULL, '')`,
        [t, `${t}-1`],
      );
    }
    const beforeItems = await dump('items');
    const beforeSites = await dump('sites');
    const cap = await conn.capture('a');
    expect(cap.tables.map((t) => t.rows.length)).toEqual([1, 2]);
    // Tenant a is deleted; tenant b keeps changing.
    await db.query(`DELETE FROM ${schema}.items WHERE tenant_id = 'a'`);
    await db.query(`DELETE FROM ${schema}.sites WHERE tenant_id = 'a'`);
    const preview = await conn.preview(cap);
    expect(preview.counts).toEqual({ write: 3, overwrite: 0, remove: 0, unchanged: 0 });
    const res = await conn.restore(cap);
    expect(res.counts).toEqual({ write: 3, overwrite: 0, remove: 0, unchanged: 0 });
    expect(await dump('items')).toEqual(beforeItems);
    expect(await dump('sites')).toEqual(beforeSites);
  });
});

describe('data connectors API: a reviewed change, checked against the database, the URL never returned', () => {
  const schema = `wg_platform_${randomBytes(5).toString('hex')}`;
  let db: Client;
  let t: TestApp;
  beforeAll(async () => {
    db = new Client({ connectionString: PLATFORM_URL });
    await db.connect();
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(`CREATE TABLE ${schema}.sites (id text PRIMARY KEY, name text)`);
    await db.query(
      `CREATE TABLE ${schema}.pages (id int PRIMARY KEY, site_id text REFERENCES ${schema}.sites(id))`,
    );
    await db.query(`CREATE TABLE ${schema}.logs (site_id text, line text)`);
    t = await startTestApp();
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await db.query(`DROP SCHEMA ${schema} CASCADE`);
    await db.end();
  });

  const url = () => `${PLATFORM_URL}?schema=${schema}`;
  const put = (body: Record<string, unknown>) =>
    t.http().put('/api/connectors/platform').set(bearer(t.adminToken)).send(body);

  it('refuses a bad configuration with 422 naming each field', async () => {
    const shape = await put({ kind: 'mysql', url: 'http://x', tables: [{ table: 'a b', tenantColumn: '' }] });
    expect(shape.status).toBe(422);
    expect(shape.body.details.map((d: { field: string }) => d.field).sort()).toEqual([
      'body.kind',
      'body.tables[0].table',
      'body.tables[0].tenantColumn',
      'body.url',
    ]);
    const db2 = await put({
      kind: 'postgres',
      url: url(),
      tables: [
        { table: 'pages', tenantColumn: 'site_id' },
        { table: 'sites', tenantColumn: 'tenant' },
        { table: 'nope', tenantColumn: 'site_id' },
        { table: 'logs', tenantColumn: 'site_id' },
      ],
    });
    expect(db2.status).toBe(422);
    expect(db2.body.details).toEqual([
      { field: 'body.tables[1].tenantColumn', reason: `table ${schema}.sites has no column tenant` },
      { field: 'body.tables[2].table', reason: "no table nope in the platform's database" },
      { field: 'body.tables[3].table', reason: expect.stringContaining('has no primary key') },
    ]);
    const order = await put({
      kind: 'postgres',
      url: url(),
      tables: [
        { table: 'pages', tenantColumn: 'site_id' },
        { table: 'sites', tenantColumn: 'id' },
      ],
    });
    expect(order.status).toBe(422);
    expect(order.body.details).toEqual([
      { field: 'body.tables', reason: expect.stringContaining('foreign-key order') },
    ]);
    const unreachable = await put({
      kind: 'postgres',
      url: 'postgres://nobody:s3cret-pw@127.0.0.1:1/x',
      tables: [{ table: 'sites', tenantColumn: 'id' }],
    });
    expect(unreachable.status).toBe(422);
    expect(unreachable.body.details[0].field).toBe('body.url');
    expect(JSON.stringify(unreachable.body)).not.toContain('s3cret-pw');
  });

  it('takes effect only when another person approves its hash; the URL is never returned', async () => {
    const checker = await t.userToken(['checker']);
    const res = await put({
      kind: 'postgres',
      url: url(),
      tables: [
        { table: 'sites', tenantColumn: 'id' },
        { table: 'pages', tenantColumn: 'site_id' },
      ],
    });
    expect(res.status).toBe(200);
    const hash = (res.body as { proposalHash: string }).proposalHash;
    const stale = await t
      .http()
      .post('/api/connectors/platform/approve')
      .set(bearer(checker.token))
      .send({ proposalHash: 'f'.repeat(64) });
    expect(stale.status).toBe(409);
    const ok = await t
      .http()
      .post('/api/connectors/platform/approve')
      .set(bearer(checker.token))
      .send({ proposalHash: hash });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ name: 'platform', version: 1, approvedBy: `user:${checker.id}` });
    const viewer = await t.userToken(['viewer']);
    const got = await t.http().get('/api/connectors/platform').set(bearer(viewer.token)).expect(200);
    const all = JSON.stringify([got.body, ok.body, res.body]);
    expect(all).not.toContain(PLATFORM_URL.split('@')[1]);
    expect(all).not.toContain('postgres://');
    // A maker cannot propose; a viewer cannot approve.
    await t.http().put('/api/connectors/platform').set(bearer(viewer.token)).send({}).expect(403);
  });

  it('a change of the connector voids the approvals of the open restores through it; a plan of another version writes nothing', async () => {
    const [maker, checker1, checker2] = [
      await t.userToken(['maker']),
      await t.userToken(['checker']),
      await t.userToken(['checker']),
    ];
    await db.query(`INSERT INTO ${schema}.sites VALUES ('cv1', 'one'), ('cv2', 'two')`);
    await t
      .http()
      .post('/api/tenants')
      .set(bearer(t.adminToken))
      .send({ tenants: ['cv1', 'cv2'].map((id) => ({ id, name: id, tier: 'standard' })) })
      .expect(201);
    const connectors = t.app.get(ConnectorsService);
    for (const id of ['cv1', 'cv2']) await connectors.capture('platform', id, 'before a test purge', null);
    await db.query(`DELETE FROM ${schema}.sites WHERE id IN ('cv1', 'cv2')`);
    const restore = (id: string) =>
      approvedCr(t, maker.token, [checker1.token, checker2.token], {
        title: `restore ${id}`,
        operation: 'connector.restore',
        params: { connector: 'platform' },
        targets: [{ type: 'tenant', id }],
        waves: { bakeSeconds: 0 },
      });
    const voided = await restore('cv1');
    const running = await restore('cv2');
    const planned = await t
      .http()
      .get(`/api/change-requests/${voided.id}`)
      .set(bearer(maker.token))
      .expect(200);
    expect(planned.body.plan.waves[0].targets[0].detail).toMatchObject({ connectorVersion: 1 });

    // The connector changes (here: its table list; a new URL is the same change) while both are approved.
    const proposed = await put({
      kind: 'postgres',
      url: url(),
      tables: [{ table: 'sites', tenantColumn: 'id' }],
    });
    expect(proposed.status).toBe(200);
    const approved = await t
      .http()
      .post('/api/connectors/platform/approve')
      .set(bearer(checker2.token))
      .send({ proposalHash: (proposed.body as { proposalHash: string }).proposalHash });
    expect(approved.status).toBe(201);
    expect(approved.body.version).toBe(2);
    for (const cr of [voided, running]) {
      const got = await t.http().get(`/api/change-requests/${cr.id}`).set(bearer(maker.token)).expect(200);
      expect(got.body.status).toBe('pending');
      expect(got.body.statusReason).toContain('data connector platform changed to version 2');
      expect(got.body.approvals ?? []).toEqual([]);
      const executed = await t.http().post(`/api/change-requests/${cr.id}/execute`).set(bearer(maker.token));
      expect(executed.status).toBe(409);
    }
    const events = await t.http().get('/api/events?limit=1000').set(bearer(t.adminToken)).expect(200);
    const voidedEvents = (events.body.items as { type: string; entityId: string }[]).filter(
      (e) => e.type === 'change_request.approvals_voided',
    );
    expect(voidedEvents.map((e) => e.entityId).sort()).toEqual([voided.id, running.id].sort());

    // Re-approved as it stands (a checker who approves anyway, plan still of version 1): the target writes nothing.
    for (const checker of [checker1, checker2].slice(0, running.requiredApprovals))
      await approveCr(t, checker.token, running);
    await execute(t, maker.token, running.id);
    const end = await waitFor(
      t,
      maker.token,
      running.id,
      (x) => x.status === 'halted' || x.status === 'completed',
    );
    expect(end.status).toBe('halted');
    const targets = await t
      .http()
      .get(`/api/change-requests/${running.id}/targets`)
      .set(bearer(maker.token))
      .expect(200);
    expect(targets.body.items[0]).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('approved plan was read through version 1; nothing was written'),
    });
    expect((await db.query(`SELECT id FROM ${schema}.sites WHERE id = 'cv2'`)).rowCount).toBe(0);
  });
});
