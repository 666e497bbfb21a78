// Operation providers (issue 14) against the reference platform: registration through a change request, the
// allowlist and bad input refused naming the field, the secret never shown, inventory sync with its diff and
// removals marked (never applied), stale inventories refused, a provider change voiding approvals, and a failing
// verify probe halting a rollout whose rollback calls undo (the platform reads back as before, no key twice).
import { FakeClock } from '../src/common/clock';
import { providerDefinition } from '../examples/reference-platform/platform';
import { createActors, Actors } from './support/factories';
import { bearer, startTestApp, TestApp } from './support/test-app';
import { PLATFORM_SECRET, RunningPlatform, startReferencePlatform } from './support/reference-platform';
import { allowDestinations, inProcess, JsonCall, registerProvider, waitForStatus } from './support/providers';
import { WebhookReceiver, waitFor } from './support/webhook-receiver';

describe('operation providers', () => {
  let t: TestApp;
  let p: RunningPlatform;
  let a: Actors;
  let call: JsonCall;
  const clock = new FakeClock(new Date());

  beforeAll(async () => {
    p = await startReferencePlatform(PLATFORM_SECRET, () => clock.now());
    await p.platform.seed({ tenants: 20 });
    t = await startTestApp({
      clock,
      env: { WAVEGATE_PROVIDER_BACKOFF_MS: '5', WAVEGATE_INVENTORY_MAX_AGE_SECONDS: '600' },
    });
    a = await createActors(t);
    call = inProcess(t);
  });
  afterAll(async () => {
    await t?.close();
    await p?.stop();
  });

  const propose = (provider: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    call('POST', '/api/providers', a.admin.token, {
      provider,
      justification: 'Wire the platform',
      ticket: 'OPS-1',
      ...extra,
    });

  it('refuses an endpoint outside the allowlist, and bad definitions, naming the field; nothing is created', async () => {
    await allowDestinations(call, a.admin.token, ['http://127.0.0.1:1/never/']);
    const def = providerDefinition(p.url, PLATFORM_SECRET);
    const outside = await propose(def);
    expect(outside.status).toBe(422);
    expect(outside.body.code).toBe('PROVIDER.NOT_ALLOWED');
    expect(outside.body.details).toContainEqual({
      field: 'provider.operations[0].endpoints.apply',
      reason: expect.stringContaining('is not in the allowlist'),
    });
    expect(outside.body.details).toContainEqual(expect.objectContaining({ field: 'provider.inventory.url' }));

    await allowDestinations(call, a.admin.token, [`${p.url}/wavegate/`]);
    const ops = def.operations.map((o) => ({ ...o }));
    const { undo: _undo, ...noUndo } = ops[0].endpoints;
    ops[0] = { ...ops[0], endpoints: noUndo };
    ops[2] = { ...ops[2], risk: 'reversible' } as never;
    const bad = await propose({ ...def, name: 'Bad Name', secret: 'short', operations: ops });
    expect(bad.status).toBe(422);
    const fields = (bad.body.details as { field: string }[]).map((d) => d.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'provider.name',
        'provider.secret',
        'provider.operations[0].endpoints.undo',
        'provider.operations[2].risk',
      ]),
    );
    const missing = await call('POST', '/api/providers', a.admin.token, { provider: def });
    expect(missing.status).toBe(400);
    expect((missing.body.details as { field: string }[]).map((d) => d.field)).toEqual(
      expect.arrayContaining(['justification', 'ticket']),
    );
    // Only admins propose providers.
    expect((await call('POST', '/api/providers', a.maker.token, { provider: def })).status).toBe(403);
    expect((await call('GET', '/api/providers', a.viewer.token)).body.items).toEqual([]);
    const crs = await call('GET', '/api/change-requests', a.admin.token);
    expect(crs.body.items).toEqual([]);
  });

  it('registers through an approved change request; the secret is never returned', async () => {
    const def = providerDefinition(p.url, PLATFORM_SECRET);
    const proposed = await propose(def);
    expect(proposed.status).toBe(202);
    expect(proposed.body).toMatchObject({
      operation: 'provider.register',
      status: 'pending',
      requiredApprovals: 2,
    });
    expect(JSON.stringify(proposed.body)).not.toContain(PLATFORM_SECRET);
    // Not live before the change request runs.
    const early = await call('POST', '/api/change-requests', a.maker.token, {
      title: 'x',
      operation: 'refplat.deactivate_app',
      targets: [{ type: 'installation', id: 'site-0001/insight' }],
      justification: 'x',
    });
    expect(early.status).toBe(422);
    expect(early.body.code).toBe('CHANGE_REQUEST.UNKNOWN_OPERATION');
    await call('POST', `/api/change-requests/${proposed.body.id}/cancel`, a.admin.token, {});

    const provider = await registerProvider(
      call,
      { admin: a.admin.token, checkers: [a.checker1.token, a.checker2.token] },
      def,
    );
    expect(provider).toMatchObject({ name: 'refplat', version: 1, secretSet: true, loadedVersion: 1 });
    expect(JSON.stringify(provider)).not.toContain(PLATFORM_SECRET);
    const audit = await t.http().get('/api/audit?limit=500').set(bearer(a.admin.token));
    expect(JSON.stringify(audit.body)).not.toContain(PLATFORM_SECRET);
  });

  it('syncs the inventory: the diff is audited, removals are marked and never applied; a stale inventory refuses plans', async () => {
    // Never synced: a plan is refused, naming why.
    const never = await call('POST', '/api/change-requests', a.maker.token, {
      title: 'x',
      operation: 'refplat.deactivate_app',
      targets: [{ type: 'installation', id: 'site-0001/insight' }],
      justification: 'x',
    });
    expect(never.status).toBe(422);
    expect(never.body.code).toBe('INVENTORY.STALE');
    expect(never.body.message).toContain('never been synced');

    const first = await call('POST', '/api/inventory/sync', a.admin.token, { provider: 'refplat' });
    expect(first.status).toBe(200);
    expect(first.body.results[0].tenants.added).toHaveLength(20);
    expect(first.body.results[0].installations.added).toHaveLength(40);
    expect((await call('POST', '/api/inventory/sync', a.maker.token, {})).status).toBe(403);
    expect((await call('POST', '/api/inventory/sync', a.admin.token, { provider: 'No!' })).status).toBe(400);

    // The platform renames a site, deactivates an app and deletes a site.
    await p.platform.db.run(`UPDATE sites SET name = ? WHERE id = ?`, ['Renamed', 'site-0003']);
    await p.platform.db.run(
      `UPDATE app_installations SET status = 'deactivated' WHERE site_id = ? AND app_key = ?`,
      ['site-0004', 'forms'],
    );
    for (const table of ['site_members', 'site_pages', 'app_installations'])
      await p.platform.db.run(`DELETE FROM ${table} WHERE site_id = ?`, ['site-0020']);
    await p.platform.db.run(`DELETE FROM sites WHERE id = ?`, ['site-0020']);
    const second = await call('POST', '/api/inventory/sync', a.admin.token, {});
    expect(second.body.results[0]).toMatchObject({
      tenants: { added: [], changed: ['site-0003'], removed: ['site-0020'], reappeared: [] },
      installations: { added: [], changed: ['site-0004/forms'], removed: [] },
      total: 19,
    });
    const kept = await t.http().get('/api/tenants/site-0020').set(bearer(a.admin.token));
    expect(kept.status).toBe(200);
    expect(kept.body.status).toBe('active');
    const status = await call('GET', '/api/inventory', a.viewer.token);
    expect(status.body.items[0]).toMatchObject({
      provider: 'refplat',
      missingInPlatform: ['site-0020'],
      tenants: 20,
    });
    const audit = await t.http().get('/api/audit?limit=500').set(bearer(a.admin.token));
    const synced = (audit.body.items as { action: string; data: Record<string, unknown> }[]).filter(
      (e) => e.action === 'inventory.synced',
    );
    expect(synced).toHaveLength(2);
    expect(JSON.stringify(synced)).toContain('site-0020');

    // A plan on the removed site is refused by the platform's own answer.
    const gone = await call('POST', '/api/change-requests', a.maker.token, {
      title: 'x',
      operation: 'refplat.deactivate_app',
      targets: [{ type: 'installation', id: 'site-0020/insight' }],
      justification: 'x',
    });
    expect(gone.status).toBe(422);
    expect(gone.body.details).toEqual([
      {
        target: 'installation:site-0020/insight',
        reason: expect.stringContaining('the platform (refplat) does not know it'),
      },
    ]);

    // Eleven minutes later the inventory is older than WAVEGATE_INVENTORY_MAX_AGE_SECONDS (600).
    clock.advance(11 * 60_000);
    const stale = await call('POST', '/api/change-requests', a.maker.token, {
      title: 'x',
      operation: 'refplat.deactivate_app',
      targets: [{ type: 'installation', id: 'site-0001/insight' }],
      justification: 'x',
    });
    expect(stale.status).toBe(422);
    expect(stale.body).toMatchObject({ code: 'INVENTORY.STALE' });
    expect(stale.body.message).toMatch(/last synced 660 s ago .* more than the allowed 600 s/);
    expect((await call('POST', '/api/inventory/sync', a.admin.token, {})).status).toBe(200);
  });

  it('editing a provider voids the approvals of pending change requests that use it', async () => {
    const body = {
      title: 'Retire insight on two sites',
      operation: 'refplat.deactivate_app',
      targets: [
        { type: 'installation', id: 'site-0001/insight' },
        { type: 'installation', id: 'site-0002/insight' },
      ],
      waves: { bakeSeconds: 0 },
      justification: 'Insight is end-of-life',
    };
    const created = await call('POST', '/api/change-requests', a.maker.token, body);
    expect(created.status).toBe(201);
    expect(created.body.plan).toMatchObject({
      operation: 'refplat.deactivate_app',
      version: 1,
      mode: 'deactivate',
    });
    expect(created.body.plan.waves[0].targets[0]).toMatchObject({
      id: 'site-0001/insight',
      state: 'active',
      action: 'deactivate',
      to: 'deactivated',
      detail: {
        platform: 'refplat',
        platformFound: true,
        platformState: 'active',
        platformTo: 'deactivated',
      },
    });
    await call('POST', `/api/change-requests/${created.body.id}/submit`, a.maker.token);
    // A second CR, approved (quorum reached) but not started.
    const other = await call('POST', '/api/change-requests', a.maker.token, {
      ...body,
      targets: [{ type: 'installation', id: 'site-0005/insight' }],
    });
    await call('POST', `/api/change-requests/${other.body.id}/submit`, a.maker.token);
    const ok = await call('POST', `/api/change-requests/${other.body.id}/approve`, a.checker1.token, {
      planHash: other.body.planHash,
    });
    expect(ok.body.status).toBe('approved');
    const first = await call('POST', `/api/change-requests/${created.body.id}/approve`, a.checker1.token, {
      planHash: created.body.planHash,
    });
    expect(first.body.status).toBe('approved');

    const def = providerDefinition(p.url, PLATFORM_SECRET);
    await registerProvider(
      call,
      { admin: a.admin.token, checkers: [a.checker2.token, a.checker3.token] },
      { ...def, name: undefined, secret: undefined, description: 'v2: same endpoints, new description' },
      'refplat',
    );
    for (const id of [created.body.id, other.body.id]) {
      const after = await call('GET', `/api/change-requests/${id}`, a.maker.token);
      expect(after.body).toMatchObject({ status: 'pending', approvals: [] });
      expect(after.body.statusReason).toContain('provider refplat changed to version 2');
      const again = await call('POST', `/api/change-requests/${id}/approve`, a.checker1.token, {
        planHash: after.body.planHash,
      });
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('CHANGE_REQUEST.OPERATION_CHANGED');
    }
    // An edit rebuilds the plan at the provider's new version; that plan can be approved and runs.
    const edited = await call('PATCH', `/api/change-requests/${created.body.id}`, a.maker.token, {
      justification: 'Insight is end-of-life (plan rebuilt for provider v2)',
    });
    expect(edited.status).toBe(200);
    expect(edited.body.plan.version).toBe(2);
    expect(edited.body.planHash).not.toBe(created.body.planHash);
    const approved = await call('POST', `/api/change-requests/${created.body.id}/approve`, a.checker1.token, {
      planHash: edited.body.planHash,
    });
    expect(approved.body.status).toBe('approved');
    await call('POST', `/api/change-requests/${created.body.id}/execute`, a.maker.token);
    const done = await waitForStatus(call, a.maker.token, created.body.id as string, ['completed', 'halted']);
    expect(done.status).toBe('completed');
    const states = await p.platform.readAll();
    expect(states['site-0001'].installations.insight).toBe('deactivated');
    expect(states['site-0002'].installations.insight).toBe('deactivated');
    expect(states['site-0005'].installations.insight).toBe('active');
  });

  it('a failing verify is a probe signal that halts the rollout; rollback calls undo and the platform reads back as before', async () => {
    const ids = ['site-0006', 'site-0007', 'site-0008', 'site-0009', 'site-0010'];
    // Chat and automation hear which probe failed and why: a Slack message for the halt, JSON for the signal.
    const rx = await new WebhookReceiver().start();
    await call('PUT', '/api/webhooks/allowlist', a.admin.token, { hosts: [], networks: ['127.0.0.1/32'] });
    for (const [format, events] of [
      ['slack', ['change_request.halted']],
      ['json', ['signal.recorded']],
    ] as const)
      expect(
        (await call('POST', '/api/webhooks', a.admin.token, { name: format, url: rx.url, format, events }))
          .status,
      ).toBe(201);
    const before = await p.platform.readAll();
    const callsBefore = p.platform.calls.length;
    // The platform breaks the tenant of the second deactivation this CR makes.
    const done = p.platform.calls.filter((c) => c.endpoint === 'apply' && c.status === 200 && !c.repeated);
    p.platform.faults = { breakAfterNthDeactivation: done.length + 2 };
    const created = await call('POST', '/api/change-requests', a.maker.token, {
      title: 'Retire insight on five sites',
      operation: 'refplat.deactivate_app',
      targets: ids.map((id) => ({ type: 'installation', id: `${id}/insight` })),
      waves: { bakeSeconds: 0 },
      justification: 'Insight is end-of-life',
    });
    expect(created.status).toBe(201);
    await call('POST', `/api/change-requests/${created.body.id}/submit`, a.maker.token);
    // 5 of 20 tenants is over the blast-radius share (10 %): two approvals.
    for (const c of [a.checker1, a.checker2])
      await call('POST', `/api/change-requests/${created.body.id}/approve`, c.token, {
        planHash: created.body.planHash,
      });
    const x = await call('POST', `/api/change-requests/${created.body.id}/execute`, a.maker.token);
    expect(x.status).toBe(200);
    const halted = await waitForStatus(call, a.maker.token, created.body.id as string, [
      'halted',
      'completed',
    ]);
    expect(halted.status).toBe('halted');
    expect(halted.haltReason).toContain('probe');
    const applied = p.platform.calls
      .slice(callsBefore)
      .filter((c) => c.endpoint === 'apply' && c.status === 200 && !c.repeated);
    // Waves 1 and 2 (1 + 2 targets, the second wave's two called concurrently): at most 3 touched, none later.
    const touched = applied.map((c) => c.targets[0]).sort();
    expect(touched.length).toBeGreaterThanOrEqual(2);
    expect(touched.length).toBeLessThanOrEqual(3);
    expect(['site-0006/insight', 'site-0007/insight', 'site-0008/insight']).toEqual(
      expect.arrayContaining(touched),
    );
    const broken = p.platform.effects.filter((e) => e.kind === 'apply').slice(-touched.length)[1].tenantId;
    const signals = await call('GET', `/api/change-requests/${created.body.id}/signals`, a.maker.token);
    expect(signals.body.items).toContainEqual(
      expect.objectContaining({
        source: 'probe',
        tenantId: broken,
        message: expect.stringContaining('the site stopped serving pages after deactivate_app'),
      }),
    );

    const types = () => new Set(rx.received.map((r) => r.headers['wavegate-event-type']));
    const hooks = await waitFor(
      'the halt and the signal webhooks',
      () => types().has('change_request.halted') && types().has('signal.recorded') && rx.received,
    );
    const slack = hooks.find((r) => r.headers['wavegate-event-type'] === 'change_request.halted');
    expect(JSON.stringify(slack?.json)).toMatch(
      new RegExp(`probe refplat.deactivate_app verify \\(after target\\) failed for tenant ${broken}`),
    );
    const json = hooks.find((r) => r.headers['wavegate-event-type'] === 'signal.recorded');
    expect(JSON.stringify(json?.json)).toContain('"endpoint":"verify"');
    expect(json?.json).toMatchObject({
      data: {
        source: 'probe',
        tenantId: broken,
        probe: {
          operation: 'refplat.deactivate_app',
          endpoint: 'verify',
          when: 'after_target',
          reason: expect.stringContaining('the site stopped serving pages after deactivate_app'),
        },
      },
    });
    await rx.stop();

    const rb = await call('POST', `/api/change-requests/${created.body.id}/rollback`, a.checker1.token, {
      reason: 'a site broke',
    });
    expect(rb.status).toBe(202);
    const rolled = await waitForStatus(call, a.maker.token, created.body.id as string, ['rolled_back']);
    expect(rolled.status).toBe('rolled_back');
    const undone = p.platform.calls
      .slice(callsBefore)
      .filter((c) => c.endpoint === 'undo' && c.status === 200);
    expect(undone.map((c) => c.targets[0]).sort()).toEqual(touched);
    const after = await p.platform.readAll();
    expect(after).toEqual(before);
    const keys = p.platform.calls
      .slice(callsBefore)
      .filter((c) => (c.endpoint === 'apply' || c.endpoint === 'undo') && c.idempotencyKey)
      .map((c) => c.idempotencyKey);
    expect(new Set(keys).size).toBe(keys.length);
    p.platform.faults = {};
  });

  it('probes again when a bake ends: a tenant that breaks during the bake halts the next wave, and the last wave is probed before the CR completes', async () => {
    const start = async (sites: string[], sizes: number[]) => {
      const created = await call('POST', '/api/change-requests', a.maker.token, {
        title: `Retire insight on ${sites.join(', ')}`,
        operation: 'refplat.deactivate_app',
        targets: sites.map((id) => ({ type: 'installation', id: `${id}/insight` })),
        waves: { sizes, bakeSeconds: 60 },
        justification: 'Insight is end-of-life',
      });
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      await call('POST', `/api/change-requests/${id}/submit`, a.maker.token);
      for (const c of [a.checker1, a.checker2].slice(0, created.body.requiredApprovals as number))
        await call('POST', `/api/change-requests/${id}/approve`, c.token, {
          planHash: created.body.planHash,
        });
      expect((await call('POST', `/api/change-requests/${id}/execute`, a.maker.token)).status).toBe(200);
      // The first wave's target is applied and probed healthy, and the wave is finished: its bake (measured on the
      // fake clock from the wave's end) has begun.
      for (let i = 0; ; i++) {
        const cr = await call('GET', `/api/change-requests/${id}`, a.maker.token);
        const first = (cr.body.waves as { index: number; status: string }[] | undefined)?.find(
          (w) => w.index === 1,
        );
        if (cr.body.progress?.succeeded === 1 && first?.status === 'completed') break;
        if (i > 500) throw new Error(`never applied: ${JSON.stringify(cr.body).slice(0, 500)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return id;
    };
    const haltsAfterBake = async (id: string, site: string) => {
      p.platform.broken.set(site, `${site}: database connection pool exhausted (injected during the bake)`);
      clock.advance(61_000);
      const halted = await waitForStatus(call, a.maker.token, id, ['halted', 'completed']);
      expect(halted.status).toBe('halted');
      expect(halted.haltReason).toContain(
        `probe refplat.deactivate_app verify (after bake) failed for tenant ${site}: verify: tenant ${site} is unhealthy: ${site}: database connection pool exhausted`,
      );
      expect(halted.progress.succeeded).toBe(1);
      expect((await call('POST', `/api/change-requests/${id}/rollback`, a.checker1.token, {})).status).toBe(
        202,
      );
      await waitForStatus(call, a.maker.token, id, ['rolled_back']);
    };
    const callsBefore = p.platform.calls.length;

    // Waves of 1 and 1: the tenant of wave 1 breaks while it bakes; wave 2 never starts.
    await haltsAfterBake(await start(['site-0011', 'site-0012'], [1, 1]), 'site-0011');
    // One wave: its bake and probe come before the CR may complete.
    await haltsAfterBake(await start(['site-0013'], [1]), 'site-0013');

    const applied = p.platform.calls
      .slice(callsBefore)
      .filter((c) => c.endpoint === 'apply' && c.status === 200)
      .map((c) => c.targets[0]);
    expect(applied).toEqual(['site-0011/insight', 'site-0013/insight']);
    const states = await p.platform.readAll();
    for (const site of ['site-0011', 'site-0012', 'site-0013'])
      expect(states[site].installations.insight).toBe('active');
  });
});
