import { FakeClock } from '../src/common/clock';
import { apiToken, createActors, createApps, importTenants, Actors } from './support/factories';
import { approvedCr, execute, progress, sleep, waitFor } from './support/rollouts';
import { bearer, startTestApp, TestApp } from './support/test-app';

// Signals carry the environment they come from (ADR 0007). An SDK error report is scoped to its client token's
// environment, so a development service's errors never halt a production `flag.rollout` of the same flag, while a
// production service's errors halt it at its current wave. `POST /api/signals` and Alertmanager alerts may name an
// environment too; one that names none still concerns the flag everywhere. Real HTTP, real database (SQLite, or
// PostgreSQL with TEST_DATABASE_URL); time is a FakeClock, so a bake ends only when the test advances it.
describe('signals are scoped to an environment (e2e)', () => {
  const BAKE_MS = 120_000;
  let t: TestApp;
  let clock: FakeClock;
  let a: Actors;
  let automation: string;
  let devClient: string;
  let prodClient: string;
  let ids: string[];

  const createFlag = async (key: string) => {
    const res = await t.http().post('/api/flags').set(bearer(a.maker.token)).send({ key });
    expect(res.status).toBe(201);
  };

  /** A production flag.rollout over all tenants (waves 1, 2, 7), started, with its first wave completed. */
  const rolloutAtWave1 = async (flag: string, haltPolicy?: Record<string, unknown>) => {
    const cr = await approvedCr(t, a.maker.token, [a.checker1.token, a.checker2.token], {
      title: `Roll out ${flag}`,
      operation: 'flag.rollout',
      params: { flag, environment: 'production' },
      targets: ids.map((id) => ({ type: 'tenant', id })),
      waves: { sizes: [1, 2, 7], bakeSeconds: BAKE_MS / 1000 },
      ...(haltPolicy ? { haltPolicy } : {}),
      justification: 'Cohort by cohort, halting on production errors',
    });
    const view = await t.http().get(`/api/change-requests/${cr.id}`).set(bearer(a.viewer.token));
    const firstWave = (view.body.plan.waves[0].targets as { id: string }[]).map((x) => x.id);
    await execute(t, a.checker1.token, cr.id);
    await waitFor(t, a.viewer.token, cr.id, (x) => x.waves[0]?.status === 'completed');
    return { id: cr.id, firstTenant: firstWave[0] };
  };

  /** Ends the bake: the next wave starts and completes. */
  const nextWave = async (crId: string, index: number) => {
    clock.advance(BAKE_MS + 1_000);
    return waitFor(t, a.viewer.token, crId, (x) => x.waves[index]?.status === 'completed');
  };

  const reportErrors = async (token: string, errors: Record<string, unknown>[], extra = {}) => {
    const res = await t
      .http()
      .post('/api/client/errors')
      .set('Authorization', token)
      .send({ appName: 'checkout-service', ...extra, errors });
    expect(res.status).toBe(202);
  };

  /** Still running, between waves: nothing halted it. */
  const expectRunning = async (crId: string, succeeded: number) => {
    await sleep(150);
    const p = await progress(t, a.viewer.token, crId);
    expect(p.status).toBe('running');
    expect(p.progress.succeeded).toBe(succeeded);
  };

  const signalAudit = async (flagKey: string) => {
    const res = await t.http().get('/api/audit?action=signal.recorded&limit=500').set(bearer(a.viewer.token));
    expect(res.status).toBe(200);
    return (res.body.items as { data: Record<string, unknown> }[])
      .map((e) => e.data)
      .filter((d) => d.flagKey === flagKey);
  };

  beforeAll(async () => {
    process.env.WAVEGATE_ENGINE_POLL_MS = '20';
    clock = new FakeClock('2026-03-01T10:00:00.000Z');
    t = await startTestApp({ clock });
    a = await createActors(t);
    automation = await apiToken(t, 'automation');
    devClient = await apiToken(t, 'client', 'development');
    prodClient = await apiToken(t, 'client', 'production');
    await createApps(t);
    ids = await importTenants(t, 10, { prefix: 'envs' });
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it("a development SDK's error reports do not halt a production flag.rollout; a production SDK's halt it at its current wave", async () => {
    const FLAG = 'env-checkout';
    await createFlag(FLAG);
    const cr = await rolloutAtWave1(FLAG);

    // The development service fails behind the flag, for the very tenant production exposed in wave 1, and without
    // a tenant: both reports are stored, neither halts the production rollout. The environment is the token's: the
    // `environment` the SDK puts in the body (its own setting) is not what scopes the signal.
    await reportErrors(
      devClient,
      [
        { flag: FLAG, tenantId: cr.firstTenant, count: 5, message: 'dev: checkout v2 TypeError' },
        { flag: FLAG, count: 1, message: 'dev: checkout v2 TypeError' },
      ],
      { environment: 'production' },
    );
    await expectRunning(cr.id, 1);
    const dev = await signalAudit(FLAG);
    expect(dev).toHaveLength(2);
    expect(dev.map((d) => [d.source, d.environment, d.tenantId ?? null]).sort()).toEqual(
      [
        ['sdk', 'development', cr.firstTenant],
        ['sdk', 'development', null],
      ].sort(),
    );
    const events = await t.http().get('/api/events?limit=1000').set(bearer(t.adminToken));
    expect(events.status).toBe(200);
    const recorded = (events.body.items as { type: string; data: Record<string, unknown> }[]).filter(
      (e) => e.type === 'signal.recorded' && e.data.flagKey === FLAG,
    );
    expect(recorded.map((e) => e.data.environment)).toEqual(['development', 'development']);
    expect(recorded[0].data.message).toBe('dev: checkout v2 TypeError');
    const reported = (
      events.body.items as { type: string; entityId: string; data: Record<string, unknown> }[]
    )
      .filter((e) => e.type === 'flag.error_reported' && e.entityId === FLAG)
      .map((e) => e.data.environment);
    expect(reported).toEqual(['development', 'development']);

    // The rollout goes on: wave 2 runs, while the development signals are still in the signal window.
    await nextWave(cr.id, 1);
    await expectRunning(cr.id, 3);

    // The production service fails behind the flag: its report halts the rollout before wave 3.
    await reportErrors(prodClient, [
      { flag: FLAG, tenantId: cr.firstTenant, count: 1, message: 'prod: cannot read total of undefined' },
    ]);
    const halted = await progress(t, a.viewer.token, cr.id);
    expect(halted.status).toBe('halted');
    expect(halted.haltReason).toContain('prod: cannot read total of undefined');
    expect(halted.progress.succeeded).toBe(3);
    expect(halted.waves[2].status).toBe('pending');
    expect((await signalAudit(FLAG)).map((d) => d.environment)).toContain('production');

    clock.advance(10 * BAKE_MS);
    await sleep(300);
    const still = await progress(t, a.viewer.token, cr.id);
    expect(still.status).toBe('halted');
    expect(still.progress.succeeded).toBe(3);
    expect(still.progress.pending).toBe(7);
  }, 60_000);

  it('the engine counts only the signals of the rollout’s environment towards maxErrorSignals', async () => {
    const FLAG = 'env-search';
    await createFlag(FLAG);
    const cr = await rolloutAtWave1(FLAG, { maxErrorSignals: 5 });
    // 10 development errors: over the limit, but not this environment's.
    await reportErrors(devClient, [{ flag: FLAG, count: 10, message: 'dev: search timeout' }]);
    await expectRunning(cr.id, 1);
    // 4 production errors: below the limit (they would be 14 with the development ones).
    await reportErrors(prodClient, [{ flag: FLAG, count: 4, message: 'prod: search timeout' }]);
    await expectRunning(cr.id, 1);
    // The 5th production error reaches it.
    await reportErrors(prodClient, [{ flag: FLAG, count: 1, message: 'prod: search timeout again' }]);
    const halted = await progress(t, a.viewer.token, cr.id);
    expect(halted.status).toBe('halted');
    expect(halted.haltReason).toContain('5 error signals');
    expect(halted.haltReason).toContain('prod: search timeout again');
  }, 60_000);

  it('POST /api/signals and Alertmanager: environment=development does not halt the production rollout, environment=production does', async () => {
    const FLAG = 'env-billing';
    await createFlag(FLAG);
    const cr = await rolloutAtWave1(FLAG);
    const signal = (body: Record<string, unknown>) =>
      t
        .http()
        .post('/api/signals')
        .set(bearer(automation))
        .send({ source: 'grafana', severity: 'critical', flagKey: FLAG, message: 'billing 5xx', ...body });
    const alert = (labels: Record<string, string>) =>
      t
        .http()
        .post('/api/signals/alertmanager')
        .set(bearer(automation))
        .send({
          version: '4',
          status: 'firing',
          receiver: 'wavegate',
          alerts: [
            {
              status: 'firing',
              labels: { alertname: 'BillingErrors', severity: 'critical', flag: FLAG, ...labels },
              annotations: { summary: `billing 5xx in ${labels.environment}` },
            },
          ],
        });

    const dev = await signal({ environment: 'development', tenantId: cr.firstTenant });
    expect(dev.status).toBe(201);
    expect(dev.body).toMatchObject({ environment: 'development', halted: [] });
    const staging = await alert({ environment: 'staging' });
    expect(staging.status).toBe(200);
    expect(staging.body.items).toEqual([expect.objectContaining({ environment: 'staging', halted: [] })]);
    await expectRunning(cr.id, 1);
    expect((await signalAudit(FLAG)).map((d) => d.environment).sort()).toEqual(['development', 'staging']);

    const prod = await signal({ environment: 'production', message: 'billing 5xx in production' });
    expect(prod.status).toBe(201);
    expect(prod.body).toMatchObject({ environment: 'production', halted: [cr.id] });
    const halted = await progress(t, a.viewer.token, cr.id);
    expect(halted.status).toBe('halted');
    expect(halted.haltReason).toContain('billing 5xx in production');
    expect(halted.progress.succeeded).toBe(1);
  }, 60_000);

  it('Alertmanager environment=production halts; a signal naming no environment (or an unknown one) concerns every environment', async () => {
    const alert = (flag: string, labels: Record<string, string>) =>
      t
        .http()
        .post('/api/signals/alertmanager')
        .set(bearer(automation))
        .send({
          version: '4',
          status: 'firing',
          alerts: [
            {
              status: 'firing',
              labels: { alertname: 'Errors', severity: 'critical', flag, ...labels },
              annotations: { summary: `${flag} errors` },
            },
          ],
        });

    await createFlag('env-alert');
    const byLabel = await rolloutAtWave1('env-alert');
    const prod = await alert('env-alert', { environment: 'production' });
    expect(prod.body.items).toEqual([
      expect.objectContaining({ environment: 'production', halted: [byLabel.id] }),
    ]);

    // No environment: as before ADR 0007, the flag in any environment.
    await createFlag('env-unscoped');
    const unscoped = await rolloutAtWave1('env-unscoped');
    const rest = await t.http().post('/api/signals').set(bearer(automation)).send({
      source: 'grafana',
      severity: 'error',
      flagKey: 'env-unscoped',
      message: 'errors somewhere',
    });
    expect(rest.status).toBe(201);
    expect(rest.body).toMatchObject({ environment: null, halted: [unscoped.id] });

    // An Alertmanager label naming no environment is not trusted to scope the alert away (it would halt
    // nothing): the alert is recorded unscoped, the label kept in the audit data.
    await createFlag('env-typo');
    const typo = await rolloutAtWave1('env-typo');
    const res = await alert('env-typo', { environment: 'prod' });
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([expect.objectContaining({ environment: null, halted: [typo.id] })]);
    const [audit] = await signalAudit('env-typo');
    expect(audit).toMatchObject({ ignoredEnvironment: 'prod' });
    expect(audit.environment).toBeUndefined();
  }, 60_000);

  it('GET /api/change-requests/:id/signals lists what concerns the rollout by the same rule, newest first', async () => {
    const FLAG = 'env-signals-list';
    await createFlag(FLAG);
    const cr = await rolloutAtWave1(FLAG, { maxErrorSignals: 1000 });
    const post = async (body: Record<string, unknown>) => {
      const res = await t
        .http()
        .post('/api/signals')
        .set(bearer(automation))
        .send({ source: 'grafana', severity: 'warning', message: 'm', ...body });
      expect(res.status).toBe(201);
    };
    await reportErrors(devClient, [{ flag: FLAG, tenantId: cr.firstTenant, count: 3, message: 'dev error' }]);
    clock.advance(1_000);
    await reportErrors(prodClient, [
      { flag: FLAG, tenantId: cr.firstTenant, count: 2, message: 'prod error' },
    ]);
    clock.advance(1_000);
    await post({ flagKey: FLAG, message: 'no environment: every environment' });
    clock.advance(1_000);
    await post({ flagKey: FLAG, environment: 'staging', message: 'staging only' });
    await post({ flagKey: 'some-other-flag', environment: 'production', message: 'another flag' });
    await post({
      tenantId: ids.find((x) => x !== cr.firstTenant && !x.endsWith('-x')) ?? 'nobody',
      message: 'x',
    });

    const res = await t.http().get(`/api/change-requests/${cr.id}/signals`).set(bearer(a.viewer.token));
    expect(res.status).toBe(200);
    const items = res.body.items as Record<string, unknown>[];
    // Newest first; the development and staging signals and the other flag's are not this rollout's.
    expect(items.map((x) => [x.message, x.environment, x.source])).toEqual([
      ['no environment: every environment', null, 'grafana'],
      ['prod error', 'production', 'sdk'],
    ]);
    expect(items[1]).toMatchObject({
      severity: 'error',
      state: 'firing',
      count: 2,
      tenantId: cr.firstTenant,
      flagKey: FLAG,
    });

    // A CR that never ran has none; an unknown CR is a 404; reading needs a login.
    const draft = await t
      .http()
      .post('/api/change-requests')
      .set(bearer(a.maker.token))
      .send({
        title: 'Not run',
        operation: 'flag.rollout',
        params: { flag: FLAG, environment: 'production' },
        targets: [{ type: 'tenant', id: ids[0] }],
        justification: 'listing signals of a draft',
      });
    expect(draft.status).toBe(201);
    const none = await t
      .http()
      .get(`/api/change-requests/${draft.body.id}/signals`)
      .set(bearer(a.viewer.token));
    expect(none.status).toBe(200);
    expect(none.body.items).toEqual([]);
    const missing = await t
      .http()
      .get('/api/change-requests/00000000-0000-4000-8000-000000000000/signals')
      .set(bearer(a.viewer.token));
    expect(missing.status).toBe(404);
    expect((await t.http().get(`/api/change-requests/${cr.id}/signals`)).status).toBe(401);
  }, 60_000);

  it('POST /api/signals refuses a malformed or unknown environment, naming the field', async () => {
    const send = (environment: unknown) =>
      t.http().post('/api/signals').set(bearer(automation)).send({
        source: 'grafana',
        severity: 'critical',
        flagKey: 'env-checkout',
        environment,
        message: 'x',
      });
    for (const bad of ['Production', 'prod env', '', 42, ['production'], 'x'.repeat(101)]) {
      const res = await send(bad);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION.FAILED');
      expect(res.body.details.map((d: { field: string }) => d.field)).toContain('environment');
    }
    const unknown = await send('moon');
    expect(unknown.status).toBe(422);
    expect(unknown.body.code).toBe('SIGNAL.UNKNOWN_ENVIRONMENT');
    expect(unknown.body.details).toEqual([
      { field: 'environment', reason: 'no environment moon (known: development, staging, production)' },
    ]);
    // Nothing was recorded for the refused signals.
    expect((await signalAudit('env-checkout')).filter((d) => d.source === 'grafana')).toEqual([]);
  });
});
