import { bearer, startTestApp, TestApp } from './support/test-app';
import { createApps, importTenants, tenantRows } from './support/factories';

describe('tenants: inventory', () => {
  let t: TestApp;
  let maker: string;
  let viewer: string;
  beforeAll(async () => {
    t = await startTestApp();
    maker = (await t.userToken(['maker'])).token;
    viewer = (await t.userToken(['viewer'])).token;
    await createApps(t);
  });
  afterAll(async () => {
    await t.close();
  });

  it('creates one tenant with its installations and reads it back', async () => {
    const res = await t
      .http()
      .post('/api/tenants')
      .set(bearer(maker))
      .send({
        id: 'acme',
        name: 'Acme Corp',
        tier: 'key',
        region: 'eu',
        attributes: { plan: 'enterprise' },
        installations: [{ appKey: 'jira' }, { appKey: 'insight', data: { boards: 3 } }],
      })
      .expect(201);
    expect(res.body).toMatchObject({
      id: 'acme',
      name: 'Acme Corp',
      tier: 'key',
      region: 'eu',
      status: 'active',
      attributes: { plan: 'enterprise' },
    });
    const got = await t.http().get('/api/tenants/acme').set(bearer(viewer)).expect(200);
    expect(got.body.installations).toEqual([
      expect.objectContaining({ appKey: 'insight', status: 'active', data: { boards: 3 } }),
      expect.objectContaining({ appKey: 'jira', status: 'active', data: {} }),
    ]);
    await t.http().get('/api/tenants/nope').set(bearer(viewer)).expect(404);
  });

  it('refuses a bad tenant naming every field, and a duplicate id with 409', async () => {
    const bad = await t
      .http()
      .post('/api/tenants')
      .set(bearer(maker))
      .send({ id: 'bad id!', name: '', tier: 'gold', status: 'purged', installations: [{ appKey: 'nope' }] })
      .expect(422);
    const fields = bad.body.details.map((d: { field: string }) => d.field).sort();
    expect(fields).toEqual(['id', 'installations[0].appKey', 'name', 'status', 'tier']);
    await t
      .http()
      .post('/api/tenants')
      .set(bearer(maker))
      .send({ id: 'acme', name: 'Again', tier: 'standard' })
      .expect(409);
  });

  it('imports many at once; a bad row rejects the whole import with its row and field, nothing half-imported', async () => {
    const rows = tenantRows(50, { prefix: 'imp' });
    rows[17] = { ...rows[17], tier: 'gold' as never };
    rows[30] = { ...rows[30], id: rows[2].id };
    const res = await t.http().post('/api/tenants').set(bearer(maker)).send({ tenants: rows }).expect(422);
    expect(res.body.code).toBe('TENANT.IMPORT_INVALID');
    expect(res.body.details).toEqual(
      expect.arrayContaining([
        { row: 18, field: 'tier', reason: expect.stringContaining('internal, standard, key') },
        { row: 31, field: 'id', reason: expect.stringContaining('row 3') },
      ]),
    );
    const list = await t.http().get('/api/tenants?q=imp').set(bearer(viewer)).expect(200);
    expect(list.body.items).toHaveLength(0);

    const ok = await t
      .http()
      .post('/api/tenants')
      .set(bearer(maker))
      .send({ tenants: tenantRows(50, { prefix: 'imp' }) })
      .expect(201);
    expect(ok.body).toEqual({ imported: 50, installations: 150 });
    // Importing an id that exists rejects the whole batch too.
    const again = await t
      .http()
      .post('/api/tenants')
      .set(bearer(maker))
      .send({ tenants: tenantRows(3, { prefix: 'imp', start: 49 }) })
      .expect(409);
    expect(again.body.details).toEqual([{ row: 1, field: 'id', reason: 'tenant "imp00049" already exists' }]);
    await t.http().get('/api/tenants/imp00050').set(bearer(viewer)).expect(404);
  });

  it('imports CSV, reporting spreadsheet rows', async () => {
    const csv =
      'id,name,tier,region,apps,attributes\ncsv1,"Csv, One",internal,eu,jira;insight,"{""plan"":""team""}"\ncsv2,Csv Two,standard,us,confluence,\n';
    const ok = await t
      .http()
      .post('/api/tenants')
      .set(bearer(maker))
      .set('Content-Type', 'text/csv')
      .send(csv)
      .expect(201);
    expect(ok.body).toEqual({ imported: 2, installations: 3 });
    const one = await t.http().get('/api/tenants/csv1').set(bearer(viewer)).expect(200);
    expect(one.body).toMatchObject({ name: 'Csv, One', tier: 'internal', attributes: { plan: 'team' } });
    const bad = await t
      .http()
      .post('/api/tenants')
      .set(bearer(maker))
      .set('Content-Type', 'text/csv')
      .send('id,name,tier\ncsv3,Three,standard\ncsv4,Four,platinum\n')
      .expect(422);
    expect(bad.body.details).toEqual([{ row: 3, field: 'tier', reason: expect.any(String) }]);
    await t.http().get('/api/tenants/csv3').set(bearer(viewer)).expect(404);
  });

  it('lists with filters and cursor pagination', async () => {
    await importTenants(t, 30, { prefix: 'pg' });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await t
        .http()
        .get('/api/tenants')
        .query({ q: 'pg', limit: 7, ...(cursor ? { cursor } : {}) })
        .set(bearer(viewer))
        .expect(200);
      seen.push(...res.body.items.map((i: { id: string }) => i.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(tenantRows(30, { prefix: 'pg' }).map((r) => r.id));
    const internal = await t
      .http()
      .get('/api/tenants')
      .query({ q: 'pg', tier: 'internal' })
      .set(bearer(viewer))
      .expect(200);
    expect(internal.body.items.map((i: { id: string }) => i.id)).toEqual([
      'pg00000',
      'pg00001',
      'pg00002',
      'pg00003',
      'pg00004',
    ]);
    const eu = await t
      .http()
      .get('/api/tenants')
      .query({ q: 'pg', region: 'eu', limit: 100 })
      .set(bearer(viewer))
      .expect(200);
    expect(eu.body.items).toHaveLength(15);
    const withApp = await t
      .http()
      .get('/api/tenants')
      .query({ app: 'confluence', status: 'active', limit: 500 })
      .set(bearer(viewer))
      .expect(200);
    expect(withApp.body.items.map((i: { id: string }) => i.id)).toContain('csv2');
    expect(withApp.body.items.map((i: { id: string }) => i.id)).not.toContain('csv1');
    expect(withApp.body.items[0].installations[0]).toEqual(
      expect.objectContaining({ appKey: expect.any(String), status: 'active' }),
    );
    await t.http().get('/api/tenants').query({ tier: 'gold' }).set(bearer(viewer)).expect(400);
  });

  it('allows non-destructive edits only; status changes happen through operations', async () => {
    const res = await t
      .http()
      .patch('/api/tenants/acme')
      .set(bearer(maker))
      .send({ name: 'Acme Inc', attributes: { plan: 'team' } })
      .expect(200);
    expect(res.body).toMatchObject({ name: 'Acme Inc', attributes: { plan: 'team' }, status: 'active' });
    await t.http().patch('/api/tenants/acme').set(bearer(maker)).send({ status: 'purged' }).expect(400);
    await t.http().patch('/api/tenants/acme').set(bearer(maker)).send({ tier: 'standard' }).expect(400);
    await t.http().patch('/api/tenants/acme').set(bearer(viewer)).send({ name: 'x' }).expect(403);
    const audit = await t
      .http()
      .get('/api/audit')
      .query({ entityType: 'tenant', entityId: 'acme' })
      .set(bearer(t.adminToken))
      .expect(200);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(['tenant.created', 'tenant.updated']),
    );
  });

  it('keeps the app catalogue', async () => {
    const res = await t.http().get('/api/apps').set(bearer(viewer)).expect(200);
    expect(res.body.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ key: 'insight', legacy: true })]),
    );
    await t.http().post('/api/apps').set(bearer(maker)).send({ key: 'jira', name: 'Jira' }).expect(409);
    await t.http().post('/api/apps').set(bearer(viewer)).send({ key: 'x', name: 'X' }).expect(403);
  });
});
