import { ArchiveReader } from '../src/archive/archive.reader';
import { createApps, importTenants } from './support/factories';
import { outsideWriter, OutsideWriter } from './support/outside-writer';
import { bearer, onPostgres, startTestApp, TestApp } from './support/test-app';

interface Change {
  position: number;
  txId: number | null;
  changedAt: string;
  table: string;
  tenantId: string;
  op: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Row-level change capture by triggers (docs/decisions/0011-change-capture-triggers.md) and its feed.
describe('change capture: GET /api/changes', () => {
  let t: TestApp;
  let outside: OutsideWriter;

  const feed = async (after = 0, limit = 1000): Promise<{ items: Change[]; nextCursor?: string }> => {
    const res = await t.http().get(`/api/changes?after=${after}&limit=${limit}`).set(bearer(t.adminToken));
    expect(res.status).toBe(200);
    return res.body as { items: Change[]; nextCursor?: string };
  };
  const all = async (after = 0): Promise<Change[]> => {
    const out: Change[] = [];
    let cursor = String(after);
    for (;;) {
      const page = await feed(Number(cursor), 50);
      out.push(...page.items);
      if (!page.nextCursor) return out;
      cursor = page.nextCursor;
    }
  };
  const head = async () => {
    const items = await all();
    return items.length ? items[items.length - 1].position : 0;
  };

  beforeAll(async () => {
    t = await startTestApp();
    await createApps(t);
    outside = await outsideWriter(t.database);
  });
  afterAll(async () => {
    await outside.close();
    await t.close();
  });

  it('captures inserts through the API with after images, DB column names, tenant and transaction', async () => {
    const start = await head();
    await importTenants(t, 2, { prefix: 'cap', apps: ['jira'] });
    const items = (await all(start)).filter((c) => c.tenantId.startsWith('cap'));
    const tenants = items.filter((c) => c.table === 'tenants');
    const installs = items.filter((c) => c.table === 'installations');
    expect(tenants.map((c) => [c.op, c.tenantId])).toEqual([
      ['I', 'cap00000'],
      ['I', 'cap00001'],
    ]);
    expect(tenants[0].before).toBeNull();
    expect(tenants[0].after).toMatchObject({ id: 'cap00000', name: 'Tenant 0', status: 'active' });
    expect(Object.keys(tenants[0].after as object)).toEqual(
      expect.arrayContaining(['soft_deleted_at', 'created_at']),
    );
    expect(installs.map((c) => c.after?.tenant_id)).toEqual(['cap00000', 'cap00001']);
    expect(installs[0].after).toMatchObject({ app_key: 'jira', status: 'active' });
    // One import is one transaction: one transaction id for all its changes.
    expect(new Set(items.map((c) => c.txId)).size).toBe(1);
    expect(items[0].txId).not.toBeNull();
    expect(Date.parse(items[0].changedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('captures updates and deletes made by a writer outside Wavegate, with before and after images', async () => {
    const start = await head();
    await outside.run([
      ['UPDATE installations SET data = ? WHERE tenant_id = ?', ['{"seats":7}', 'cap00000']],
      ['DELETE FROM installations WHERE tenant_id = ?', ['cap00001']],
    ]);
    await outside.run([['UPDATE tenants SET name = ? WHERE id = ?', ['Renamed', 'cap00000']]]);
    const items = await all(start);
    expect(items.map((c) => [c.table, c.op, c.tenantId])).toEqual([
      ['installations', 'U', 'cap00000'],
      ['installations', 'D', 'cap00001'],
      ['tenants', 'U', 'cap00000'],
    ]);
    expect(items[0].before).toMatchObject({ data: '{}' });
    expect(items[0].after).toMatchObject({ data: '{"seats":7}' });
    expect(items[1].before).toMatchObject({ tenant_id: 'cap00001', app_key: 'jira' });
    expect(items[1].after).toBeNull();
    expect(items[2].before).toMatchObject({ name: 'Tenant 0' });
    expect(items[2].after).toMatchObject({ name: 'Renamed' });
    if (onPostgres()) {
      // Two outside transactions: two xids, the first shared by its two statements.
      expect(items[0].txId).toBe(items[1].txId);
      expect(items[2].txId).not.toBe(items[0].txId);
    } else {
      // SQLite has no transaction id; a change made outside Wavegate's transactions says so with null.
      expect(items.map((c) => c.txId)).toEqual([null, null, null]);
    }
  });

  it('pages in position order with nextCursor, and refuses a bad position naming the field', async () => {
    const everything = await all();
    const first = await feed(0, 3);
    expect(first.items).toHaveLength(3);
    expect(first.nextCursor).toBe(String(first.items[2].position));
    const second = await feed(Number(first.nextCursor), 3);
    expect(second.items[0].position).toBeGreaterThan(first.items[2].position);
    expect([...first.items, ...second.items]).toEqual(everything.slice(0, 6));
    const positions = everything.map((c) => c.position);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    const bad = await t.http().get('/api/changes?after=-3').set(bearer(t.adminToken));
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/after/);
  });

  it('is for admins only', async () => {
    const viewer = await t.userToken(['viewer']);
    const checker = await t.userToken(['checker', 'maker']);
    expect((await t.http().get('/api/changes')).status).toBe(401);
    expect((await t.http().get('/api/changes').set(bearer(viewer.token))).status).toBe(403);
    expect((await t.http().get('/api/changes').set(bearer(checker.token))).status).toBe(403);
  });

  it('rebuilds a tenant as it was at a moment from the captured changes', async () => {
    const reader = t.app.get(ArchiveReader);
    await sleep(20);
    const before = new Date();
    await sleep(20);
    await outside.run([['UPDATE tenants SET name = ? WHERE id = ?', ['Later', 'cap00000']]]);
    const then = await reader.rowsAt(['cap00000', 'cap00001', 'nobody'], before);
    expect(then.get('cap00000')?.tables.tenants).toEqual([expect.objectContaining({ name: 'Renamed' })]);
    expect(then.get('cap00000')?.tables.installations).toEqual([
      expect.objectContaining({ app_key: 'jira', data: '{"seats":7}' }),
    ]);
    expect(then.get('cap00001')?.tables.installations).toEqual([]);
    expect(then.get('nobody')?.tables).toEqual({
      tenants: [],
      installations: [],
      tenant_snapshots: [],
      tenant_keys: [],
      erasure_receipts: [],
    });
    const now = await reader.rowsAt(['cap00000'], new Date());
    expect(now.get('cap00000')?.tables.tenants).toEqual([expect.objectContaining({ name: 'Later' })]);
    await expect(reader.rowsAt(['cap00000'], new Date('2000-01-01T00:00:00Z'))).rejects.toMatchObject({
      code: 'ARCHIVE.NOT_RESTORABLE',
    });
  });

  // Registered only in the PostgreSQL pass: SQLite serialises writers, there is no late commit to miss.
  if (onPostgres())
    it('PostgreSQL: a transaction that commits after a later one is not skipped by a reader following after=', async () => {
      const start = await head();
      // A allocates its position first and stays open; B allocates a later one and commits.
      const a = await outside.begin([['UPDATE tenants SET name = ? WHERE id = ?', ['A', 'cap00000']]]);
      await outside.run([['UPDATE tenants SET name = ? WHERE id = ?', ['B', 'cap00001']]]);
      const during = await all(start);
      expect(during).toEqual([]);
      await a.commit();
      const after = await all(start);
      expect(after.map((c) => c.after?.name)).toEqual(['A', 'B']);
      expect(after[0].position).toBeLessThan(after[1].position);
    });
});
