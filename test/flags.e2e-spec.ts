import { bearer, startTestApp, TestApp } from './support/test-app';

describe('flags admin API (e2e)', () => {
  let t: TestApp;
  let maker: string;
  let viewer: string;

  beforeAll(async () => {
    t = await startTestApp();
    maker = (await t.userToken(['maker'])).token;
    viewer = (await t.userToken(['viewer'])).token;
  });
  afterAll(() => t.close());

  const clientToken = async (environment: string): Promise<string> => {
    const res = await t
      .http()
      .post('/api/tokens')
      .set(bearer(t.adminToken))
      .send({ name: `sdk-${environment}`, kind: 'client', environment });
    expect(res.status).toBe(201);
    return (res.body as { token: string }).token;
  };

  it('seeds development, staging and production; production requires change requests', async () => {
    const res = await t.http().get('/api/environments').set(bearer(viewer));
    expect(res.status).toBe(200);
    const items = (res.body as { items: Array<{ name: string; requiresChangeRequest: boolean }> }).items;
    expect(items.map((e) => [e.name, e.requiresChangeRequest])).toEqual([
      ['development', false],
      ['staging', false],
      ['production', true],
    ]);
  });

  it('creates a flag, configures it in development and reads it back', async () => {
    const created = await t
      .http()
      .post('/api/flags')
      .set(bearer(maker))
      .send({ key: 'new-checkout', description: 'The new checkout', type: 'release', tags: ['payments'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ key: 'new-checkout', type: 'release', archived: false });
    expect(created.body.environments.production).toMatchObject({
      enabled: false,
      version: 1,
      requiresChangeRequest: true,
    });

    const put = await t
      .http()
      .put('/api/flags/new-checkout/environments/development')
      .set(bearer(maker))
      .send({
        enabled: true,
        strategies: [
          {
            name: 'flexibleRollout',
            parameters: { rollout: 50, stickiness: 'userId' },
            constraints: [{ contextName: 'appVersion', operator: 'SEMVER_GTE', value: '2.1.0' }],
          },
        ],
        variants: [
          { name: 'blue', weightType: 'variable', payload: { type: 'string', value: 'blue' } },
          { name: 'green', weightType: 'variable' },
          { name: 'red', weightType: 'variable' },
        ],
      });
    expect(put.status).toBe(200);
    expect(put.body.version).toBe(2);
    expect(put.body.strategies[0]).toMatchObject({
      name: 'flexibleRollout',
      parameters: { rollout: '50', stickiness: 'userId', groupId: 'new-checkout' },
    });
    expect(put.body.strategies[0].id).toEqual(expect.any(String));
    // 1000 spread over three variable variants, as Unleash does.
    expect(put.body.variants.map((v: { weight: number }) => v.weight)).toEqual([334, 333, 333]);

    const list = await t.http().get('/api/flags?tag=payments').set(bearer(viewer));
    expect(list.status).toBe(200);
    expect(list.body.items.map((f: { key: string }) => f.key)).toEqual(['new-checkout']);
  });

  it('rejects bad strategies and constraints with 422 naming each field', async () => {
    await t.http().post('/api/flags').set(bearer(maker)).send({ key: 'validated' }).expect(201);
    const res = await t
      .http()
      .put('/api/flags/validated/environments/development')
      .set(bearer(maker))
      .send({
        enabled: true,
        strategies: [
          {
            name: 'flexibleRollout',
            parameters: { rollout: 101 },
            constraints: [
              { contextName: 'country', operator: 'IN', values: ['de'] },
              { contextName: 'country', operator: 'STR_MATCHES', values: ['x'] },
              { contextName: 'appVersion', operator: 'SEMVER_GT', value: '1.2' },
              { contextName: 'since', operator: 'DATE_AFTER', value: 'yesterday' },
              { contextName: 'ip', operator: 'IN_CIDR', values: ['10.0.0.0/33'] },
            ],
          },
          { name: 'gradualRolloutMagic' },
          { name: 'default', segments: [999] },
        ],
        variants: [
          { name: 'a', weight: 600, weightType: 'fix' },
          { name: 'b', weight: 600, weightType: 'fix' },
        ],
      });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('FLAG.INVALID');
    const fields = (res.body.details as Array<{ field: string }>).map((d) => d.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'strategies[0].parameters.rollout',
        'strategies[0].constraints[1].operator',
        'strategies[0].constraints[2].value',
        'strategies[0].constraints[3].value',
        'strategies[0].constraints[4].values[0]',
        'strategies[1].name',
        'strategies[2].segments[0]',
      ]),
    );
    expect(fields).not.toContain('strategies[0].constraints[0].operator');
    // Nothing was written.
    const flag = await t.http().get('/api/flags/validated').set(bearer(viewer));
    expect(flag.body.environments.development).toMatchObject({ enabled: false, version: 1 });

    const weights = await t
      .http()
      .put('/api/flags/validated/environments/development')
      .set(bearer(maker))
      .send({
        variants: [
          { name: 'a', weight: 600, weightType: 'fix' },
          { name: 'b', weight: 600, weightType: 'fix' },
        ],
      });
    expect(weights.status).toBe(422);
    expect(weights.body.details[0]).toMatchObject({ field: 'variants' });

    const badKey = await t.http().post('/api/flags').set(bearer(maker)).send({ key: 'Bad Key' });
    expect(badKey.status).toBe(400);
    expect(badKey.body.details[0].field).toBe('key');
  });

  it('checks dependencies and refuses unknown parents', async () => {
    const res = await t
      .http()
      .post('/api/flags')
      .set(bearer(maker))
      .send({ key: 'child', dependencies: [{ feature: 'nope' }] });
    expect(res.status).toBe(422);
    expect(res.body.details[0]).toMatchObject({ field: 'dependencies[0].feature', reason: 'no flag nope' });
  });

  it('segments: created, referenced by strategies, served with the snapshot, not deletable while used', async () => {
    const seg = await t
      .http()
      .post('/api/segments')
      .set(bearer(maker))
      .send({ name: 'beta users', constraints: [{ contextName: 'plan', operator: 'IN', values: ['beta'] }] });
    expect(seg.status).toBe(201);
    const id = seg.body.id as number;
    const bad = await t
      .http()
      .post('/api/segments')
      .set(bearer(maker))
      .send({ name: 'broken', constraints: [{ contextName: 'v', operator: 'NUM_GT', value: 'ten' }] });
    expect(bad.status).toBe(422);
    expect(bad.body.details[0].field).toBe('constraints[0].value');

    await t.http().post('/api/flags').set(bearer(maker)).send({ key: 'beta-only' }).expect(201);
    await t
      .http()
      .put('/api/flags/beta-only/environments/staging')
      .set(bearer(maker))
      .send({ enabled: true, strategies: [{ name: 'default', segments: [id] }] })
      .expect(200);
    const token = await clientToken('staging');
    const features = await t.http().get('/api/client/features').set('Authorization', token);
    expect(features.status).toBe(200);
    expect(features.body.segments).toEqual([
      { id, name: 'beta users', constraints: [{ contextName: 'plan', operator: 'IN', values: ['beta'] }] },
    ]);
    const del = await t.http().delete(`/api/segments/${id}`).set(bearer(maker));
    expect(del.status).toBe(409);
    expect(del.body.code).toBe('SEGMENT.IN_USE');
  });

  it('client tokens reach only the client API of their environment; viewers cannot write', async () => {
    const token = await clientToken('development');
    expect((await t.http().get('/api/flags').set(bearer(token))).status).toBe(403);
    expect((await t.http().get('/api/environments').set(bearer(token))).status).toBe(403);
    expect((await t.http().post('/api/flags').set(bearer(viewer)).send({ key: 'x' })).status).toBe(403);
    expect((await t.http().get('/api/client/features').set(bearer(t.adminToken))).status).toBe(403);
    const res = await t.http().get('/api/client/features').set(bearer(token));
    expect(res.status).toBe(200);
    expect(res.body.query).toEqual({ environment: 'development', inlineSegmentConstraints: false });
  });

  it('serves the client features with a strong ETag and 304, and a change gives a new ETag', async () => {
    const token = await clientToken('development');
    const first = await t.http().get('/api/client/features').set('Authorization', token);
    expect(first.status).toBe(200);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(first.body.version).toBe(2);
    const f = (first.body.features as Array<{ name: string; enabled: boolean }>).find(
      (x) => x.name === 'new-checkout',
    );
    expect(f).toMatchObject({ enabled: true, project: 'default', type: 'release' });

    const again = await t
      .http()
      .get('/api/client/features')
      .set('Authorization', token)
      .set('If-None-Match', etag);
    expect(again.status).toBe(304);
    expect(again.text ?? '').toBe('');

    await t
      .http()
      .put('/api/flags/new-checkout/environments/development')
      .set(bearer(maker))
      .send({ enabled: false })
      .expect(200);
    const after = await t
      .http()
      .get('/api/client/features')
      .set('Authorization', token)
      .set('If-None-Match', etag);
    expect(after.status).toBe(200);
    expect(after.headers.etag).not.toBe(etag);
    expect(
      (after.body.features as Array<{ name: string; enabled: boolean }>).find(
        (x) => x.name === 'new-checkout',
      )?.enabled,
    ).toBe(false);
  });

  it('a tenantWithId strategy is served as default + tenantId IN, which unchanged Unleash SDKs evaluate', async () => {
    await t.http().post('/api/flags').set(bearer(maker)).send({ key: 'tenant-flag' }).expect(201);
    await t
      .http()
      .put('/api/flags/tenant-flag/environments/development')
      .set(bearer(maker))
      .send({
        enabled: true,
        strategies: [{ name: 'tenantWithId', parameters: { tenantIds: 'acme, globex' } }],
      })
      .expect(200);
    const token = await clientToken('development');
    const res = await t.http().get('/api/client/features').set('Authorization', token);
    const f = (res.body.features as Array<{ name: string; strategies: unknown[] }>).find(
      (x) => x.name === 'tenant-flag',
    );
    expect(f?.strategies[0]).toMatchObject({
      name: 'default',
      parameters: {},
      constraints: [{ contextName: 'tenantId', operator: 'IN', values: ['acme', 'globex'] }],
    });
  });

  it('records metrics, registrations and error reports from client tokens', async () => {
    const token = await clientToken('development');
    await t
      .http()
      .post('/api/client/register')
      .set('Authorization', token)
      .send({
        appName: 'checkout',
        instanceId: 'i-1',
        sdkVersion: 'unleash-client-node:6',
        strategies: ['default'],
        started: new Date().toISOString(),
        interval: 10000,
        platformName: 'node',
      })
      .expect(202);
    const bucket = {
      start: new Date().toISOString(),
      stop: new Date().toISOString(),
      toggles: { 'new-checkout': { yes: 3, no: 2, variants: { blue: 2 } } },
    };
    await t
      .http()
      .post('/api/client/metrics')
      .set('Authorization', token)
      .send({ appName: 'checkout', instanceId: 'i-1', bucket })
      .expect(202);
    await t
      .http()
      .post('/api/client/metrics')
      .set('Authorization', token)
      .send({ appName: 'checkout', instanceId: 'i-1', bucket })
      .expect(202);
    const bad = await t
      .http()
      .post('/api/client/metrics')
      .set('Authorization', token)
      .send({ appName: 'checkout', bucket: { toggles: { x: { yes: -1 } } } });
    expect(bad.status).toBe(422);
    expect(bad.body.details[0].field).toBe('bucket.toggles.x.yes');

    const m = await t.http().get('/api/flags/new-checkout/metrics').set(bearer(viewer));
    expect(m.status).toBe(200);
    expect(m.body.totals).toEqual({ yes: 6, no: 4, variants: { blue: 4 } });
    expect(m.body.applications[0]).toMatchObject({
      appName: 'checkout',
      instances: [{ instanceId: 'i-1', sdkVersion: 'unleash-client-node:6' }],
    });

    const errs = await t
      .http()
      .post('/api/client/errors')
      .set('Authorization', token)
      .send({
        appName: 'checkout',
        errors: [{ flag: 'new-checkout', tenantId: 'acme', count: 3, message: 'TypeError in checkout' }],
      });
    expect(errs.status).toBe(202);
    expect(errs.body).toEqual({ accepted: 1 });
    const feed = await t.http().get('/api/events?limit=1000').set(bearer(t.adminToken));
    const ev = (
      feed.body.items as Array<{ type: string; entityId: string; data: Record<string, unknown> }>
    ).find((e) => e.type === 'flag.error_reported');
    expect(ev).toMatchObject({
      entityId: 'new-checkout',
      data: { environment: 'development', tenantId: 'acme', count: 3 },
    });
    const badErr = await t
      .http()
      .post('/api/client/errors')
      .set('Authorization', token)
      .send({ errors: [{ flag: 'new-checkout', count: 0, message: 'x' }] });
    expect(badErr.status).toBe(422);
    expect(badErr.body.details[0].field).toBe('errors[0].count');
  });

  it('every change is audited and emitted as flag.updated', async () => {
    const feed = await t.http().get('/api/events?limit=1000').set(bearer(t.adminToken));
    const updates = (
      feed.body.items as Array<{ type: string; entityId: string; data: Record<string, unknown> }>
    ).filter((e) => e.type === 'flag.updated' && e.entityId === 'new-checkout');
    expect(updates.map((u) => [u.data.environment, u.data.version])).toEqual([
      ['development', 2],
      ['development', 3],
    ]);
    const audit = await t
      .http()
      .get('/api/audit?entityType=flag&entityId=new-checkout')
      .set(bearer(t.adminToken));
    expect(audit.status).toBe(200);
  });
});
