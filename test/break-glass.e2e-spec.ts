import { FakeClock } from '../src/common/clock';
import { createActors, createApps, crBody, installations, pendingCr, Actors } from './support/factories';
import { approvedCr, execute, waitFor } from './support/rollouts';
import { bearer, startTestApp, TestApp } from './support/test-app';

// Design rule 8: an admin may run a reversible change request with an incident reference and no approval; it is
// flagged in the audit log and the events; never for an irreversible operation.
describe('break-glass (emergency) execution', () => {
  let t: TestApp;
  let clock: FakeClock;
  let a: Actors;
  const DAY = 86_400_000;

  beforeAll(async () => {
    process.env.WAVEGATE_ENGINE_POLL_MS = '20';
    clock = new FakeClock('2026-05-01T08:00:00.000Z');
    t = await startTestApp({ clock, env: { WAVEGATE_SESSION_TTL_SECONDS: String(30 * 24 * 3600) } });
    a = await createActors(t);
    await createApps(t);
    const rows = Array.from({ length: 30 }, (_, i) => ({
      id: `bg${String(i).padStart(2, '0')}`,
      name: `Customer ${i}`,
      tier: 'standard',
      installations: [{ appKey: 'jira' }, { appKey: 'insight' }],
    }));
    await t.http().post('/api/tenants').set(bearer(t.adminToken)).send({ tenants: rows }).expect(201);
  });
  afterAll(async () => {
    await t.close();
  });

  it('runs a pending reversible CR without approval, flagged in the CR, the audit log and the events', async () => {
    const cr = await pendingCr(
      t,
      a.maker.token,
      crBody({
        title: 'Kill Insight now',
        targets: installations(['bg00', 'bg01'], 'insight'),
        waves: { bakeSeconds: 0 },
      }),
    );
    const url = `/api/change-requests/${cr.id}/break-glass`;
    // only admins, and only with an incident reference
    for (const who of [a.maker, a.checker1, a.viewer]) {
      await t.http().post(url).set(bearer(who.token)).send({ incidentRef: 'INC-1' }).expect(403);
    }
    const missing = await t.http().post(url).set(bearer(a.admin.token)).send({}).expect(400);
    expect(missing.body.message).toContain('incidentRef');

    const res = await t
      .http()
      .post(url)
      .set(bearer(a.admin.token))
      .send({ incidentRef: 'INC-4711' })
      .expect(200);
    expect(res.body.status).toBe('running');
    expect(res.body.breakGlass).toMatchObject({
      by: expect.stringContaining(a.admin.id),
      incidentRef: 'INC-4711',
    });
    const done = await waitFor(t, a.viewer.token, cr.id, (p) => p.status === 'completed');
    expect(done.progress.succeeded).toBe(2);
    const bg01 = await t.http().get('/api/tenants/bg01').set(bearer(a.viewer.token)).expect(200);
    expect(bg01.body.installations.find((i: { appKey: string }) => i.appKey === 'insight').status).toBe(
      'deactivated',
    );

    const audit = await t
      .http()
      .get(`/api/audit?entityType=change_request&entityId=${cr.id}&limit=100`)
      .set(bearer(a.viewer.token))
      .expect(200);
    const started = (audit.body.items as Array<{ action: string; data: Record<string, unknown> }>).find(
      (e) => e.action === 'change_request.started',
    );
    expect(started?.data).toMatchObject({ breakGlass: { incidentRef: 'INC-4711' } });

    const feed = await t.http().get('/api/events?limit=1000').set(bearer(a.viewer.token)).expect(200);
    const event = (
      feed.body.items as Array<{ type: string; entityId: string; data: Record<string, unknown> }>
    ).find((e) => e.type === 'change_request.started' && e.entityId === cr.id);
    expect(event?.data).toMatchObject({ breakGlass: { incidentRef: 'INC-4711' } });
  });

  it('is refused for an approved CR (run it normally) and for an irreversible purge', async () => {
    const approved = await approvedCr(t, a.maker.token, [a.checker1.token, a.checker2.token], {
      title: 'normal path',
      targets: installations(['bg02'], 'insight'),
    });
    await t
      .http()
      .post(`/api/change-requests/${approved.id}/break-glass`)
      .set(bearer(a.admin.token))
      .send({ incidentRef: 'INC-1' })
      .expect(409);

    // soft delete bg10 with a short retention, let it pass, then try to purge by break-glass
    const del = await approvedCr(t, a.maker.token, [a.checker1.token, a.checker2.token], {
      title: 'mark bg10 for deletion',
      operation: 'tenant.soft_delete',
      params: { retentionDays: 2 },
      targets: [{ type: 'tenant', id: 'bg10' }],
      waves: { bakeSeconds: 0 },
      ticket: 'DEL-9',
    });
    await execute(t, a.checker1.token, del.id);
    await waitFor(t, a.viewer.token, del.id, (p) => p.status === 'completed');
    clock.advance(3 * DAY);
    const purge = await pendingCr(
      t,
      a.maker.token,
      crBody({
        title: 'purge bg10',
        operation: 'tenant.purge',
        targets: [{ type: 'tenant', id: 'bg10' }],
        ticket: 'DEL-9',
      }),
    );
    const refused = await t
      .http()
      .post(`/api/change-requests/${purge.id}/break-glass`)
      .set(bearer(a.admin.token))
      .send({ incidentRef: 'INC-2' })
      .expect(403);
    expect(refused.body.code).toBe('CHANGE_REQUEST.BREAK_GLASS_IRREVERSIBLE');
    const still = await t
      .http()
      .get(`/api/change-requests/${purge.id}`)
      .set(bearer(a.viewer.token))
      .expect(200);
    expect(still.body.status).toBe('pending');
    const tenant = await t.http().get('/api/tenants/bg10').set(bearer(a.viewer.token)).expect(200);
    expect(tenant.body.status).toBe('soft_deleted');
  });
});
