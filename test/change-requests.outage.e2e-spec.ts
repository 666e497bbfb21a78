import { bearer, startTestApp, TestApp } from './support/test-app';
import { createActors, createApps, crBody, importTenants, installations, Actors } from './support/factories';

// The April 2022 outage (DESIGN.md "Why it exists"), replayed: site ids handed to an app-deactivation script, and
// "permanent delete" instead of "mark for deletion". Wavegate refuses both, and shows the right request for what it is.
describe('change requests: the outage replayed', () => {
  let t: TestApp;
  let a: Actors;
  let tenantIds: string[];

  beforeAll(async () => {
    t = await startTestApp();
    a = await createActors(t);
    await createApps(t); // jira, confluence and the legacy insight
    // 1,000 tenants each holding jira, confluence and insight; the first 5 are internal, every 10th a key customer.
    tenantIds = await importTenants(t, 1000);
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses installation.deactivate given the 1,000 tenant ids, naming every one as the wrong type', async () => {
    const res = await t
      .http()
      .post('/api/change-requests')
      .set(bearer(a.maker.token))
      .send(crBody({ targets: tenantIds.map((id) => ({ type: 'tenant', id })) }))
      .expect(422);
    expect(res.body.code).toBe('CHANGE_REQUEST.WRONG_TARGET_TYPE');
    expect(res.body.details).toHaveLength(1000);
    expect(res.body.details.map((d: { target: string }) => d.target)).toEqual(
      tenantIds.map((id) => `tenant:${id}`),
    );
    for (const d of res.body.details) expect(d.reason).toContain('wrong target type');
    // Labelling the site ids as installations does not get them through either.
    const relabelled = await t
      .http()
      .post('/api/change-requests')
      .set(bearer(a.maker.token))
      .send(crBody({ targets: tenantIds.map((id) => ({ type: 'installation', id })) }))
      .expect(422);
    expect(relabelled.body.details).toHaveLength(1000);
    expect(relabelled.body.details[0].reason).toContain('is a tenant id, not an installation id');
    const list = await t.http().get('/api/change-requests').set(bearer(a.viewer.token)).expect(200);
    expect(list.body.items).toEqual([]);
  });

  it('refuses tenant.purge on active tenants: not soft-deleted', async () => {
    const res = await t
      .http()
      .post('/api/change-requests')
      .set(bearer(a.maker.token))
      .send(
        crBody({
          operation: 'tenant.purge',
          ticket: 'INC-2022-04',
          targets: tenantIds.map((id) => ({ type: 'tenant', id })),
        }),
      )
      .expect(422);
    expect(res.body.code).toBe('CHANGE_REQUEST.INELIGIBLE_TARGET');
    expect(res.body.details).toHaveLength(1000);
    for (const d of res.body.details) expect(d.reason).toContain('not soft-deleted');
  });

  it('creates installation.deactivate on the 1,000 insight installations: a plan of 1,000 named targets, internal first, 2 approvals', async () => {
    const res = await t
      .http()
      .post('/api/change-requests')
      .set(bearer(a.maker.token))
      .send(crBody({ targets: installations(tenantIds, 'insight') }))
      .expect(201);
    const cr = res.body;
    expect(cr).toMatchObject({ status: 'draft', revision: 1, requiredApprovals: 2, approvals: [] });
    expect(cr.plan).toMatchObject({
      operation: 'installation.deactivate',
      mode: 'deactivate',
      risk: 'reversible',
    });
    expect(cr.plan.summary).toMatchObject({
      targetCount: 1000,
      tenantCount: 1000,
      byTier: { internal: 5, standard: 895, key: 100 },
      byApp: { insight: 1000 },
      irreversible: false,
      shareOfTenants: 1,
    });
    const targets = cr.plan.waves.flatMap((w: { targets: unknown[] }) => w.targets);
    expect(targets).toHaveLength(1000);
    for (const x of targets) {
      expect(x).toEqual(
        expect.objectContaining({
          type: 'installation',
          name: expect.stringMatching(/^Tenant \d+ \/ Insight$/),
          state: 'active',
          action: 'deactivate',
        }),
      );
    }
    expect(cr.plan.waves.map((w: { targets: unknown[] }) => w.targets.length)).toEqual([
      1, 2, 8, 32, 128, 512, 317,
    ]);
    expect(cr.plan.waves[0].targets.map((x: { tier: string }) => x.tier)).toEqual(['internal']);
    expect(cr.plan.waves[1].targets.map((x: { tier: string }) => x.tier)).toEqual(['internal', 'internal']);
    expect(cr.plan.waves[6].targets.slice(-100).every((x: { tier: string }) => x.tier === 'key')).toBe(true);
    expect(cr.approvalReasons).toEqual(
      expect.arrayContaining([expect.stringContaining('over the blast-radius limit')]),
    );
  });
});
