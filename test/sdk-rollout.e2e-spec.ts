import { AddressInfo } from 'node:net';
import { silentLogger, WavegateClient } from '@wavegate/sdk';
import { FakeClock } from '../src/common/clock';
import { apiToken, createActors, createApps, importTenants, Actors } from './support/factories';
import { approvedCr, execute, progress, sleep, waitFor } from './support/rollouts';
import { bearer, startTestApp, TestApp } from './support/test-app';

// A service using @wavegate/sdk the way production code does: it serves requests for many tenants behind a flag
// with withFlag(), the new code path fails, and the SDK's own batched error reports (no manual flush) halt the
// flag.rollout change request at its first wave: the next cohort is never exposed, and the SDK, kept current
// through the stream, keeps seeing the flag on for the first wave's tenant only.
describe('@wavegate/sdk error reports halt a flag.rollout (e2e)', () => {
  const FLAG = 'sdk-new-checkout';
  const BAKE_MS = 120_000;
  let t: TestApp;
  let clock: FakeClock;
  let a: Actors;
  let base: string;
  let ids: string[];
  let sdk: WavegateClient;

  beforeAll(async () => {
    process.env.WAVEGATE_ENGINE_POLL_MS = '20';
    clock = new FakeClock('2026-03-01T10:00:00.000Z');
    t = await startTestApp({ clock });
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    a = await createActors(t);
    await createApps(t);
    ids = await importTenants(t, 10, { prefix: 'sdkr' });
    const flag = await t.http().post('/api/flags').set(bearer(a.maker.token)).send({ key: FLAG });
    expect(flag.status).toBe(201);
    sdk = new WavegateClient({
      url: base,
      token: await apiToken(t, 'client'), // production
      appName: 'checkout-service',
      environment: 'production',
      errorsIntervalMs: 50,
      metricsIntervalMs: 3_600_000,
      logger: silentLogger,
    });
    await sdk.ready(10_000);
  }, 120_000);

  afterAll(async () => {
    await sdk?.close();
    await t?.close();
  });

  const exposedTenants = () => ids.filter((tenantId) => sdk.isEnabled(FLAG, { tenantId }));

  // One request per tenant: the new checkout throws, the old one works.
  const serveEveryTenant = async () => {
    const outcomes = await Promise.allSettled(
      ids.map((tenantId) =>
        sdk.withFlag(FLAG, { tenantId, userId: `buyer@${tenantId}` }, async (on) => {
          if (on) throw new TypeError('checkout v2: cannot read properties of undefined (reading "total")');
          return 'checkout v1';
        }),
      ),
    );
    return outcomes.filter((o) => o.status === 'rejected').length;
  };

  it('the first wave fails, the SDK reports it by itself, the rollout halts before the second wave', async () => {
    expect(exposedTenants()).toEqual([]);
    expect(await serveEveryTenant()).toBe(0);

    const cr = await approvedCr(t, a.maker.token, [a.checker1.token, a.checker2.token], {
      title: 'Expose the new checkout',
      operation: 'flag.rollout',
      params: { flag: FLAG, environment: 'production' },
      targets: ids.map((id) => ({ type: 'tenant', id })),
      waves: { sizes: [1, 2, 7], bakeSeconds: BAKE_MS / 1000 },
      justification: 'Cohort by cohort, halting on SDK error reports',
    });
    const view = await t.http().get(`/api/change-requests/${cr.id}`).set(bearer(a.viewer.token));
    const firstWave = (view.body.plan.waves[0].targets as { id: string }[]).map((x) => x.id);
    expect(firstWave).toHaveLength(1);
    await execute(t, a.checker1.token, cr.id);
    await waitFor(t, a.viewer.token, cr.id, (x) => x.waves[0]?.status === 'completed');

    // The stream brings the first wave's exposure to the SDK: that tenant alone now runs the new code.
    const deadline = Date.now() + 10_000;
    while (exposedTenants().length === 0 && Date.now() < deadline) await sleep(20);
    expect(exposedTenants()).toEqual(firstWave);
    expect(sdk.status.connection).toBe('streaming');

    expect(await serveEveryTenant()).toBe(1);
    const halted = await waitFor(t, a.viewer.token, cr.id, (x) => x.status === 'halted', 10_000);
    expect(halted.haltReason).toContain('cannot read properties of undefined');
    expect(halted.progress.succeeded).toBe(1);

    // Long past the bake time: no second wave, and the SDK still sees only the first tenant exposed.
    clock.advance(10 * BAKE_MS);
    await sleep(300);
    const still = await progress(t, a.viewer.token, cr.id);
    expect(still.status).toBe('halted');
    expect(still.progress.succeeded).toBe(1);
    expect(still.progress.pending).toBe(9);
    expect(still.waves[1].status).not.toBe('completed');
    expect(exposedTenants()).toEqual(firstWave);
  }, 60_000);
});
