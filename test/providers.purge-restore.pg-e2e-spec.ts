import { Client } from 'pg';
import { providerDefinition } from '../examples/reference-platform/platform';
import { TENANT_TABLES } from '../examples/reference-platform/platform.db';
import { rowsByTenant } from './support/rows-by-tenant';
import { createActors, Actors } from './support/factories';
import { allowDestinations, inProcess, JsonCall, registerProvider, waitForStatus } from './support/providers';
import { PLATFORM_SECRET, RunningPlatform, startReferencePlatform } from './support/reference-platform';
import { bearer, onPostgres, startTestApp, TestApp } from './support/test-app';

// Acceptance (issue 14) on the reference platform: its sites are marked for deletion and then deleted for good
// through the provider's own operations (refplat.mark_site_for_deletion, refplat.delete_site); before each
// destructive call the `postgres` data connector captures the tenant's rows from the platform's shared database
// (TENANT_TABLES). 10 of the 50 deleted sites are then restored by a reviewed `connector.restore` CR while a writer
// keeps writing other sites' rows, and every row of every tenant table is compared. The connector needs PostgreSQL
// (the platform's database is a schema of TEST_DATABASE_URL): registered only in the PostgreSQL pass.
const onPostgresOnly = onPostgres() ? describe : (_name: string, _body: () => void) => undefined;

const SITES = Array.from({ length: 60 }, (_, i) => `site-${String(i + 1).padStart(4, '0')}`);
const DELETED = SITES.slice(0, 50);
const RESTORED = DELETED.slice(0, 10);
const KEPT = SITES.slice(50);

onPostgresOnly('reference platform: delete 50 sites, restore 10 while others write', () => {
  const pgUrl = process.env.TEST_DATABASE_URL as string;
  let p: RunningPlatform;
  let t: TestApp;
  let a: Actors;
  let call: JsonCall;
  let db: Client;
  let schema: string;

  beforeAll(async () => {
    p = await startReferencePlatform();
    schema = p.schema as string;
    await p.platform.seed({ tenants: SITES.length, pagesPerSite: 20, membersPerSite: 3 });
    t = await startTestApp({ env: { WAVEGATE_PROVIDER_BACKOFF_MS: '5', WAVEGATE_ENGINE_POLL_MS: '20' } });
    a = await createActors(t);
    call = inProcess(t);
    db = new Client({ connectionString: pgUrl });
    await db.connect();
    await allowDestinations(call, a.admin.token, [`${p.url}/wavegate/`]);
    await registerProvider(
      call,
      { admin: a.admin.token, checkers: [a.checker1.token, a.checker2.token] },
      providerDefinition(p.url, PLATFORM_SECRET),
    );
    expect((await call('POST', '/api/inventory/sync', a.admin.token, {})).status).toBe(200);
    // The connector on the platform's shared database, its tenant tables as the platform declares them.
    const proposed = await call('PUT', '/api/connectors/refplat-db', a.admin.token, {
      kind: 'postgres',
      url: `${pgUrl}?schema=${schema}`,
      tables: TENANT_TABLES.map((x) => ({ table: x.table, tenantColumn: x.tenantKey })),
    });
    expect(proposed.status).toBe(200);
    const ok = await call('POST', '/api/connectors/refplat-db/approve', a.checker1.token, {
      proposalHash: proposed.body.proposalHash,
    });
    expect(ok.status).toBe(201);
  }, 180_000);

  afterAll(async () => {
    await db?.end();
    await t?.close();
    await p?.stop();
  });

  /** Every row of every tenant table, as PostgreSQL prints it, per site. */
  const dump = () =>
    rowsByTenant(
      db,
      schema,
      TENANT_TABLES.map((x) => ({ table: x.table, tenantColumn: x.tenantKey })),
    );

  const run = async (body: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const created = await call('POST', '/api/change-requests', a.maker.token, {
      waves: { bakeSeconds: 0 },
      justification: 'Acceptance drill',
      ticket: 'OPS-14',
      ...body,
    });
    if (created.status !== 201) throw new Error(`${created.status} ${JSON.stringify(created.body)}`);
    const cr = created.body;
    await call('POST', `/api/change-requests/${cr.id}/submit`, a.maker.token);
    for (const c of [a.checker1, a.checker2].slice(0, cr.requiredApprovals as number))
      expect(
        (await call('POST', `/api/change-requests/${cr.id}/approve`, c.token, { planHash: cr.planHash }))
          .status,
      ).toBe(200);
    expect((await call('POST', `/api/change-requests/${cr.id}/execute`, a.maker.token)).status).toBe(200);
    const done = await waitForStatus(call, a.maker.token, cr.id as string, ['completed', 'halted'], 120_000);
    expect(done.status).toBe('completed');
    return cr;
  };

  it('captures every site before its deletion, restores exactly 10 while others write, and changes nothing else', async () => {
    await run({
      title: 'Mark 50 sites for deletion',
      operation: 'refplat.mark_site_for_deletion',
      targets: DELETED.map((id) => ({ type: 'tenant', id })),
    });
    const before = await dump();
    expect(before.size).toBe(60);
    // 1 site + 3 installations (seeded apps) + 20 pages + 3 members, as the platform holds them.
    const perSite = before.get(DELETED[0])?.length ?? 0;
    expect(perSite).toBeGreaterThan(20);

    const deletion = await run({
      title: 'Delete 50 sites for good',
      operation: 'refplat.delete_site',
      targets: DELETED.map((id) => ({ type: 'tenant', id })),
    });
    const afterDelete = await dump();
    for (const id of DELETED) expect(afterDelete.has(id)).toBe(false);
    for (const id of KEPT) expect(afterDelete.get(id)).toEqual(before.get(id));

    // Every deleted site was captured before delete_site was called, and its audit entry names that capture.
    const captures = await t
      .http()
      .get('/api/connectors/refplat-db/captures')
      .set(bearer(a.viewer.token))
      .expect(200);
    const items = (
      captures.body as {
        items: { id: string; tenantId: string; rowCount: number; hash: string; changeRequestId?: string }[];
      }
    ).items;
    const audit = await t.http().get('/api/audit?limit=500').set(bearer(t.adminToken)).expect(200);
    const succeeded = (
      audit.body as { items: { action: string; entityId: string; data: Record<string, unknown> }[] }
    ).items.filter(
      (e) => e.action === 'change_request.target_succeeded' && e.entityId === (deletion.id as string),
    );
    expect(succeeded).toHaveLength(50);
    for (const e of succeeded) {
      const [c] = e.data.captures as { captureId: string; captureHash: string; rowCount: number }[];
      const stored = items.find((i) => i.id === c.captureId);
      expect(stored?.hash).toBe(c.captureHash);
      expect(c.rowCount).toBe(perSite);
    }

    // The restore: a reviewed CR whose plan shows, per site, the capture it writes back and the rows.
    const restoreCr = await call('POST', '/api/change-requests', a.maker.token, {
      title: 'Restore 10 sites',
      operation: 'connector.restore',
      params: { connector: 'refplat-db' },
      targets: RESTORED.map((id) => ({ type: 'tenant', id })),
      waves: { bakeSeconds: 0 },
      justification: 'Deleted by mistake',
      ticket: 'OPS-15',
    });
    expect(restoreCr.status).toBe(201);
    const planned = (
      restoreCr.body.plan.waves as { targets: { id: string; detail: Record<string, unknown> }[] }[]
    ).flatMap((w) => w.targets);
    expect(planned.map((x) => x.id).sort()).toEqual(RESTORED);
    for (const x of planned)
      expect(x.detail).toMatchObject({ write: perSite, overwrite: 0, remove: 0, capturedRows: perSite });

    // A writer keeps writing the kept sites' rows through the restore.
    const written = new Map<string, string[]>();
    let stop = false;
    let n = 0;
    const writerDb = new Client({ connectionString: pgUrl });
    await writerDb.connect();
    const writer = (async () => {
      while (!stop) {
        const site = KEPT[n++ % KEPT.length];
        const r = await writerDb.query<{ row: string }>(
          `INSERT INTO ${schema}.site_pages AS t (id, site_id, app_key, title, body, revision, updated_at)
           VALUES ($1, $2, NULL, 'live', 'written during the restore', $3, $4) RETURNING 'site_pages:' || t::text AS row`,
          [`live-${n}`, site, n, new Date().toISOString()],
        );
        written.set(site, [...(written.get(site) ?? []), r.rows[0].row]);
      }
    })();
    const cr = restoreCr.body;
    await call('POST', `/api/change-requests/${cr.id}/submit`, a.maker.token);
    for (const c of [a.checker1, a.checker2].slice(0, cr.requiredApprovals as number))
      await call('POST', `/api/change-requests/${cr.id}/approve`, c.token, { planHash: cr.planHash });
    expect((await call('POST', `/api/change-requests/${cr.id}/execute`, a.maker.token)).status).toBe(200);
    const done = await waitForStatus(call, a.maker.token, cr.id as string, ['completed', 'halted'], 120_000);
    const duringRestore = n;
    stop = true;
    await writer;
    await writerDb.end();
    expect(done.status).toBe('completed');
    expect(duringRestore).toBeGreaterThan(0);

    // Row by row: the 10 equal their rows as captured; the other 40 stay deleted; every kept site equals its rows
    // before plus exactly the rows the writer committed.
    const after = await dump();
    for (const id of RESTORED) expect(after.get(id)).toEqual(before.get(id));
    for (const id of DELETED.slice(10)) expect(after.has(id)).toBe(false);
    for (const id of KEPT)
      expect(after.get(id)).toEqual([...(before.get(id) ?? []), ...(written.get(id) ?? [])].sort());
    expect([...after.keys()].sort()).toEqual([...RESTORED, ...KEPT].sort());
    // And the platform itself serves them again, in the state they were captured in.
    const states = await p.platform.readAll();
    for (const id of RESTORED) expect(states[id].status).toBe('marked_for_deletion');
  });
});
