import { AddressInfo } from 'node:net';
import { silentLogger, WavegateClient } from '@wavegate/sdk';
import { InMemStorageProvider, Unleash, UnleashEvents } from 'unleash-client';
import { FakeClock } from '../src/common/clock';
import { apiToken, createActors, createApps, importTenants, Actors } from './support/factories';
import { approvedCr, execute, progress, sleep, waitFor } from './support/rollouts';
import { bearer, startTestApp, TestApp } from './support/test-app';
import { destroyUnleash } from './support/unleash';

// `flag.rollout` end to end (issue 5): a flag is exposed tenant cohort by tenant cohort through a change request
// (waves 1, 2, 4, 13), and the official Unleash SDK sees it switch on wave by wave; an error report from the
// Wavegate SDK for that flag halts the rollout; rollback switches it off again. Time is a FakeClock: bakes end
// when the test advances it. SQLite, or PostgreSQL with TEST_DATABASE_URL.
describe('flag.rollout (e2e)', () => {
  const FLAG = 'new-checkout';
  const BAKE_MS = 120_000;
  let t: TestApp;
  let clock: FakeClock;
  let a: Actors;
  let base: string;
  let clientToken: string;
  let ids: string[];
  let outsider: string;
  let unleash: Unleash;
  let sdk: WavegateClient;

  /** Which of the tenants the Unleash SDK sees the flag on for. */
  const onFor = (tenants: string[]) =>
    tenants.filter((tenantId) => unleash.isEnabled(FLAG, { properties: { tenantId } }));

  /** Waits (real time) until the SDK's view is exactly `expected` among all tenants (it polls every 50 ms). */
  async function sdkSeesExactly(expected: string[], ms = 10_000): Promise<void> {
    const all = [...ids, outsider];
    const want = [...expected].sort();
    const deadline = Date.now() + ms;
    let seen: string[] = [];
    while (Date.now() < deadline) {
      seen = onFor(all).sort();
      if (JSON.stringify(seen) === JSON.stringify(want)) return;
      await sleep(25);
    }
    expect(seen).toEqual(want);
  }

  const createRollout = async (title: string) => {
    const cr = await approvedCr(t, a.maker.token, [a.checker1.token, a.checker2.token], {
      title,
      operation: 'flag.rollout',
      params: { flag: FLAG, environment: 'production' },
      targets: ids.map((id) => ({ type: 'tenant', id })),
      waves: { sizes: [1, 2, 4, 13], bakeSeconds: BAKE_MS / 1000 },
      justification: 'Expose the new checkout cohort by cohort',
    });
    const view = await t.http().get(`/api/change-requests/${cr.id}`).set(bearer(a.viewer.token));
    expect(view.status).toBe(200);
    const waves = (view.body.plan.waves as { targets: { id: string; action: string }[] }[]).map((w) =>
      w.targets.map((x) => x.id),
    );
    return { id: cr.id, waves, plan: view.body.plan as Record<string, unknown> };
  };

  const flagConfig = async () => {
    const res = await t.http().get(`/api/flags/${FLAG}`).set(bearer(a.viewer.token));
    expect(res.status).toBe(200);
    return res.body.environments.production as {
      enabled: boolean;
      strategies: { id: string; name: string; parameters: Record<string, string> }[];
    };
  };

  beforeAll(async () => {
    process.env.WAVEGATE_ENGINE_POLL_MS = '20';
    // Small batches, run concurrently (on PostgreSQL; SQLite serialises transactions): targets of one wave then
    // write the same flag environment from several transactions at once.
    process.env.WAVEGATE_ENGINE_BATCH = '4';
    process.env.WAVEGATE_ENGINE_CONCURRENCY = '8';
    clock = new FakeClock('2026-03-01T10:00:00.000Z');
    t = await startTestApp({ clock });
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    a = await createActors(t);
    await createApps(t);
    const all = await importTenants(t, 21, { prefix: 'shop' });
    ids = all.slice(0, 20);
    outsider = all[20];
    const flag = await t
      .http()
      .post('/api/flags')
      .set(bearer(a.maker.token))
      .send({ key: FLAG, description: 'Checkout v2' });
    expect(flag.status).toBe(201);
    await t.http().post('/api/flags').set(bearer(a.maker.token)).send({ key: 'other-flag' });
    clientToken = await apiToken(t, 'client'); // production
    unleash = new Unleash({
      url: `${base}/api/`,
      appName: 'shop-frontend',
      instanceId: 'rollout-e2e',
      customHeaders: { Authorization: clientToken },
      refreshInterval: 50,
      disableMetrics: true,
      storageProvider: new InMemStorageProvider(),
    });
    unleash.on(UnleashEvents.Error, () => undefined);
    await new Promise<void>((resolve, reject) => {
      unleash.once(UnleashEvents.Synchronized, () => resolve());
      setTimeout(() => reject(new Error('SDK did not synchronise')), 10_000).unref();
    });
    sdk = new WavegateClient({
      url: base,
      token: clientToken,
      appName: 'shop-backend',
      environment: 'production',
      streaming: false,
      refreshIntervalMs: 60_000,
      metricsIntervalMs: 3_600_000,
      errorsIntervalMs: 3_600_000,
      logger: silentLogger,
    });
  }, 120_000);

  afterAll(async () => {
    delete process.env.WAVEGATE_ENGINE_BATCH;
    delete process.env.WAVEGATE_ENGINE_CONCURRENCY;
    destroyUnleash(unleash);
    await sdk?.close();
    await t?.close();
  });

  it('params are checked: the flag and the environment must exist', async () => {
    for (const [params, field] of [
      [{ flag: 'no-such-flag', environment: 'production' }, 'params.flag'],
      [{ flag: FLAG, environment: 'moon' }, 'params.environment'],
      [{ flag: FLAG }, 'params.environment'],
      [{ flag: FLAG, environment: 'production', extra: 1 }, 'params.extra'],
    ] as const) {
      const res = await t
        .http()
        .post('/api/change-requests')
        .set(bearer(a.maker.token))
        .send({
          title: 'x',
          operation: 'flag.rollout',
          params,
          targets: [{ type: 'tenant', id: ids[0] }],
          justification: 'x',
        });
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('CHANGE_REQUEST.INVALID_PARAMS');
      expect(res.body.details.map((d: { field: string }) => d.field)).toContain(field);
    }
    // Targets are tenants: a flag target is the wrong kind of id.
    const wrong = await t
      .http()
      .post('/api/change-requests')
      .set(bearer(a.maker.token))
      .send({
        title: 'x',
        operation: 'flag.rollout',
        params: { flag: FLAG, environment: 'production' },
        targets: [{ type: 'flag', id: `production/${FLAG}` }],
        justification: 'x',
      });
    expect(wrong.status).toBe(422);
    expect(wrong.body.code).toBe('CHANGE_REQUEST.WRONG_TARGET_TYPE');
  });

  it('waves 1, 2, 4, 13: the Unleash SDK sees the flag switch on cohort by cohort; rollback switches it off', async () => {
    await sdkSeesExactly([]);
    const cr = await createRollout('Roll out new-checkout');
    expect(cr.waves.map((w) => w.length)).toEqual([1, 2, 4, 13]);
    expect(cr.plan.mode).toBe('enable_for_tenant');
    await execute(t, a.checker1.token, cr.id);

    const exposed: string[] = [];
    for (let i = 0; i < cr.waves.length; i++) {
      const p = await waitFor(t, a.viewer.token, cr.id, (x) => x.waves[i]?.status === 'completed');
      expect(p.waves[i].counts.succeeded).toBe(cr.waves[i].length);
      exposed.push(...cr.waves[i]);
      // Exactly the tenants of waves 1..i, never the next cohort nor the tenant outside the CR.
      await sdkSeesExactly(exposed);
      if (i + 1 < cr.waves.length) {
        // The bake holds the next wave until the clock moves.
        await sleep(150);
        expect((await progress(t, a.viewer.token, cr.id)).waves[i + 1].status).toBe('pending');
        await sdkSeesExactly(exposed);
        clock.advance(BAKE_MS + 1_000);
      }
    }
    const done = await waitFor(t, a.viewer.token, cr.id, (x) => x.status === 'completed');
    expect(done.progress.succeeded).toBe(20);
    const config = await flagConfig();
    expect(config.enabled).toBe(true);
    expect(config.strategies).toHaveLength(1);
    expect(config.strategies[0]).toMatchObject({ id: `rollout-${cr.id}`, name: 'tenantWithId' });
    expect(config.strategies[0].parameters.tenantIds.split(',').sort()).toEqual([...ids].sort());

    // Every apply is a flag.updated change in the audit trail, naming the CR.
    const events = await t.http().get('/api/events?limit=1000').set(bearer(t.adminToken));
    expect(events.status).toBe(200);
    const updates = (events.body.items as { type: string; data: { changeRequestId?: string } }[]).filter(
      (e) => e.type === 'flag.updated' && e.data.changeRequestId === cr.id,
    );
    expect(updates).toHaveLength(20);

    const rb = await t
      .http()
      .post(`/api/change-requests/${cr.id}/rollback`)
      .set(bearer(a.checker2.token))
      .send({ reason: 'drill' });
    expect(rb.status).toBe(202);
    const deadline = Date.now() + 30_000;
    let last = await progress(t, a.viewer.token, cr.id);
    while (last.status !== 'rolled_back' && Date.now() < deadline) {
      clock.advance(BAKE_MS + 1_000);
      await sleep(50);
      last = await progress(t, a.viewer.token, cr.id);
    }
    expect(last.status).toBe('rolled_back');
    expect(last.progress.rolled_back).toBe(20);
    await sdkSeesExactly([]);
    // Nothing left behind: the CR's strategy is gone and the flag is off again (enabled without strategies
    // would be on for everyone).
    expect(await flagConfig()).toMatchObject({ enabled: false, strategies: [] });
  }, 120_000);

  it('an SDK error report for the flag halts the rollout before the next cohort', async () => {
    const cr = await createRollout('Roll out new-checkout again');
    await execute(t, a.checker1.token, cr.id);
    await waitFor(t, a.viewer.token, cr.id, (x) => x.waves[0]?.status === 'completed');
    await sdkSeesExactly(cr.waves[0]);

    // An error for another flag does not concern this CR.
    sdk.reportError('other-flag', { tenantId: outsider }, new Error('unrelated'));
    await sdk.flushErrors();
    expect((await progress(t, a.viewer.token, cr.id)).status).toBe('running');

    // The service behind the flag fails; the SDK reports it (flag key only: the signal names no CR and no tenant).
    sdk.reportError(FLAG, undefined, new Error('TypeError: cannot read total of undefined'));
    await sdk.flushErrors();
    const halted = await waitFor(t, a.viewer.token, cr.id, (x) => x.status === 'halted', 5_000);
    expect(halted.haltReason).toContain('cannot read total of undefined');
    expect(halted.progress.succeeded).toBe(1);

    // Long past the bake: no next cohort, the SDK still sees only wave 1.
    clock.advance(10 * BAKE_MS);
    await sleep(300);
    const still = await progress(t, a.viewer.token, cr.id);
    expect(still.status).toBe('halted');
    expect(still.progress.succeeded).toBe(1);
    expect(still.progress.pending).toBe(19);
    await sdkSeesExactly(cr.waves[0]);

    const abort = await t
      .http()
      .post(`/api/change-requests/${cr.id}/abort`)
      .set(bearer(a.checker2.token))
      .send({ reason: 'checkout errors' });
    expect(abort.status).toBeLessThan(300);
  }, 60_000);

  it('an SDK error report naming a tenant of a completed wave halts it too', async () => {
    const cr = await createRollout('Roll out new-checkout a third time');
    await execute(t, a.checker1.token, cr.id);
    await waitFor(t, a.viewer.token, cr.id, (x) => x.waves[0]?.status === 'completed');
    // The first rollout of this flag was aborted with wave 1 on; this one adds its own strategy.
    sdk.reportError(FLAG, { tenantId: cr.waves[0][0] }, new Error('500 on /checkout'));
    await sdk.flushErrors();
    const halted = await waitFor(t, a.viewer.token, cr.id, (x) => x.status === 'halted', 5_000);
    expect(halted.haltReason).toContain('500 on /checkout');
  }, 60_000);
  it('one wave of 200 tenants in concurrent batches: every tenant ends up in the strategy, none lost', async () => {
    const many = await importTenants(t, 200, { prefix: 'bulk' });
    const flag = await t.http().post('/api/flags').set(bearer(a.maker.token)).send({ key: 'bulk-flag' });
    expect(flag.status).toBe(201);
    const cr = await approvedCr(t, a.maker.token, [a.checker1.token, a.checker2.token, a.checker3.token], {
      title: 'Roll out bulk-flag',
      operation: 'flag.rollout',
      params: { flag: 'bulk-flag', environment: 'production' },
      targets: many.map((id) => ({ type: 'tenant', id })),
      waves: { sizes: [200], bakeSeconds: 1 },
      justification: 'Concurrent writers on one flag environment',
      ticket: 'OPS-2',
    });
    await execute(t, a.checker1.token, cr.id);
    const done = await waitFor(t, a.viewer.token, cr.id, (x) => x.status === 'completed', 60_000);
    expect(done.progress.succeeded).toBe(200);
    const res = await t.http().get('/api/flags/bulk-flag').set(bearer(a.viewer.token));
    const config = res.body.environments.production as {
      enabled: boolean;
      version: number;
      strategies: { parameters: Record<string, string> }[];
    };
    expect(config.enabled).toBe(true);
    expect(config.strategies[0].parameters.tenantIds.split(',').sort()).toEqual([...many].sort());
    // One versioned write per tenant.
    expect(config.version).toBe(1 + 200);
    const served = await fetch(`${base}/api/client/features`, { headers: { Authorization: clientToken } });
    const feature = (
      (await served.json()) as { features: { name: string; strategies: unknown[] }[] }
    ).features.find((f) => f.name === 'bulk-flag');
    expect(feature?.strategies).toEqual([
      expect.objectContaining({
        name: 'default',
        constraints: [expect.objectContaining({ contextName: 'tenantId', operator: 'IN' })],
      }),
    ]);
  }, 120_000);
});
