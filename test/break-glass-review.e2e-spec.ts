import { randomUUID } from 'node:crypto';
import {
  createActors,
  apiToken,
  createApps,
  crBody,
  installations,
  pendingCr,
  Actors,
} from './support/factories';
import { approvedCr, waitFor } from './support/rollouts';
import { bearer, startTestApp, TestApp } from './support/test-app';

// Design rule 8, "must be reviewed after the fact" (ADR 0010): a checker who neither broke the glass nor wrote or
// edited the CR records one review (accepted / concerns + note), whatever the CR's status; the list finds the
// executions still awaiting review; the review is in the CR view, the audit log and the events.
describe('break-glass review after the fact', () => {
  let t: TestApp;
  let a: Actors;
  /** An admin who is also a checker: refused by the four-eyes rule, not by a missing role. */
  let breaker: { token: string; id: string };
  /** A maker who is also a checker and writes the CR: the author may not review either. */
  let author: { token: string; id: string };

  const review = (id: string) => `/api/change-requests/${id}/break-glass/review`;
  const list = (token: string, query: Record<string, string>) =>
    t.http().get('/api/change-requests').query(query).set(bearer(token)).expect(200);
  const ids = (res: { body: { items: { id: string }[] } }) => res.body.items.map((i) => i.id);

  beforeAll(async () => {
    process.env.WAVEGATE_ENGINE_POLL_MS = '20';
    t = await startTestApp();
    a = await createActors(t);
    breaker = await t.userToken(['admin', 'checker']);
    author = await t.userToken(['maker', 'checker']);
    await createApps(t);
    const rows = Array.from({ length: 20 }, (_, i) => ({
      id: `rv${String(i).padStart(2, '0')}`,
      name: `Customer ${i}`,
      tier: 'standard',
      installations: [{ appKey: 'jira' }, { appKey: 'insight' }],
    }));
    await t.http().post('/api/tenants').set(bearer(t.adminToken)).send({ tenants: rows }).expect(201);
  });
  afterAll(async () => {
    await t.close();
  });

  async function brokenGlass(title: string, tenants: string[]): Promise<string> {
    const cr = await pendingCr(
      t,
      author.token,
      crBody({ title, targets: installations(tenants, 'insight'), waves: { bakeSeconds: 0 } }),
    );
    await t
      .http()
      .post(`/api/change-requests/${cr.id}/break-glass`)
      .set(bearer(breaker.token))
      .send({ incidentRef: 'INC-900' })
      .expect(200);
    await waitFor(t, a.viewer.token, cr.id, (p) => p.status === 'completed');
    return cr.id;
  }

  it('is refused to the admin who broke the glass and to the author, done once by another checker', async () => {
    const id = await brokenGlass('Kill Insight on rv00', ['rv00']);

    // awaiting review: listed for everyone with breakGlassReview=pending, "awaiting me" only for eligible checkers
    expect(ids(await list(a.viewer.token, { breakGlassReview: 'pending' }))).toContain(id);
    expect(ids(await list(a.checker1.token, { breakGlassReview: 'pending', awaiting: 'me' }))).toContain(id);
    expect(ids(await list(breaker.token, { breakGlassReview: 'pending', awaiting: 'me' }))).not.toContain(id);
    expect(ids(await list(author.token, { breakGlassReview: 'pending', awaiting: 'me' }))).not.toContain(id);

    // the view says who may review, and why not
    const forBreaker = await t
      .http()
      .get(`/api/change-requests/${id}`)
      .set(bearer(breaker.token))
      .expect(200);
    expect(forBreaker.body.breakGlassReviewAccess).toMatchObject({
      allowed: false,
      code: 'CHANGE_REQUEST.BREAK_GLASS_SELF_REVIEW',
    });
    const forChecker = await t
      .http()
      .get(`/api/change-requests/${id}`)
      .set(bearer(a.checker1.token))
      .expect(200);
    expect(forChecker.body.breakGlassReviewAccess).toEqual({ allowed: true });
    expect(forChecker.body.breakGlass.review).toBeUndefined();

    const body = {
      outcome: 'accepted',
      note: 'Incident INC-900 confirmed; the kill stopped the data corruption.',
    };
    const self = await t.http().post(review(id)).set(bearer(breaker.token)).send(body).expect(403);
    expect(self.body.code).toBe('CHANGE_REQUEST.BREAK_GLASS_SELF_REVIEW');
    expect(self.body.message).toContain('another checker');
    const byAuthor = await t.http().post(review(id)).set(bearer(author.token)).send(body).expect(403);
    expect(byAuthor.body.code).toBe('CHANGE_REQUEST.BREAK_GLASS_SELF_REVIEW');

    const done = await t.http().post(review(id)).set(bearer(a.checker1.token)).send(body).expect(200);
    expect(done.body.status).toBe('completed'); // a review never changes the status
    expect(done.body.breakGlass).toMatchObject({
      by: `user:${breaker.id}`,
      incidentRef: 'INC-900',
      review: { by: `user:${a.checker1.id}`, outcome: 'accepted', note: body.note, at: expect.any(String) },
    });

    const again = await t
      .http()
      .post(review(id))
      .set(bearer(a.checker2.token))
      .send({ outcome: 'concerns', note: 'second opinion' })
      .expect(409);
    expect(again.body.code).toBe('CHANGE_REQUEST.BREAK_GLASS_ALREADY_REVIEWED');
    expect(again.body.message).toContain('already reviewed');

    expect(ids(await list(a.viewer.token, { breakGlassReview: 'pending' }))).not.toContain(id);
    expect(ids(await list(a.checker2.token, { breakGlassReview: 'pending', awaiting: 'me' }))).not.toContain(
      id,
    );
    expect(ids(await list(a.viewer.token, { breakGlassReview: 'done' }))).toContain(id);

    // audit: who and how, the note only as a hash; event: the note for the channel, flagged as break-glass
    const audit = await t
      .http()
      .get('/api/audit')
      .query({ entityType: 'change_request', entityId: id, limit: 100 })
      .set(bearer(a.viewer.token))
      .expect(200);
    const entry = (
      audit.body.items as { action: string; actor: string; data: Record<string, unknown> }[]
    ).find((e) => e.action === 'change_request.break_glass_reviewed');
    expect(entry?.actor).toBe(`user:${a.checker1.id}`);
    expect(entry?.data).toMatchObject({
      from: 'completed',
      to: 'completed',
      breakGlass: { by: `user:${breaker.id}`, incidentRef: 'INC-900' },
      review: { by: `user:${a.checker1.id}`, outcome: 'accepted' },
      reasonSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(JSON.stringify(entry?.data)).not.toContain('data corruption');
    const feed = await t.http().get('/api/events?limit=1000').set(bearer(a.viewer.token)).expect(200);
    const event = (
      feed.body.items as { type: string; entityId: string; data: Record<string, unknown> }[]
    ).filter((e) => e.type === 'change_request.break_glass_reviewed' && e.entityId === id);
    expect(event).toHaveLength(1);
    expect(event[0].data).toMatchObject({
      breakGlass: { incidentRef: 'INC-900' },
      review: { outcome: 'accepted' },
      reason: body.note,
      status: 'completed',
    });
  });

  it('keeps the review through later lifecycle commands (rollback)', async () => {
    const id = await brokenGlass('Kill Insight on rv01', ['rv01']);
    await t
      .http()
      .post(review(id))
      .set(bearer(a.checker2.token))
      .send({ outcome: 'concerns', note: 'Not an outage; should have waited for approval. Rolling back.' })
      .expect(200);
    await t
      .http()
      .post(`/api/change-requests/${id}/rollback`)
      .set(bearer(a.checker2.token))
      .send({})
      .expect(202);
    await waitFor(t, a.viewer.token, id, (p) => p.status === 'rolled_back');
    const view = await t.http().get(`/api/change-requests/${id}`).set(bearer(a.viewer.token)).expect(200);
    expect(view.body.status).toBe('rolled_back');
    expect(view.body.breakGlass.review).toMatchObject({ by: `user:${a.checker2.id}`, outcome: 'concerns' });
    expect(view.body.breakGlassReviewAccess).toMatchObject({
      allowed: false,
      code: 'CHANGE_REQUEST.NOT_A_CHECKER',
    });
  });

  it('refuses a CR that did not go through break-glass (409) and an unknown one (404)', async () => {
    const normal = await approvedCr(t, a.maker.token, [a.checker1.token], {
      title: 'normal path',
      targets: installations(['rv05'], 'insight'),
    });
    const res = await t
      .http()
      .post(review(normal.id))
      .set(bearer(a.checker2.token))
      .send({ outcome: 'accepted', note: 'fine' })
      .expect(409);
    expect(res.body.code).toBe('CHANGE_REQUEST.NOT_BREAK_GLASS');
    const view = await t
      .http()
      .get(`/api/change-requests/${normal.id}`)
      .set(bearer(a.checker2.token))
      .expect(200);
    expect(view.body.breakGlassReviewAccess).toBeNull();
    expect(ids(await list(a.viewer.token, { breakGlassReview: 'pending' }))).not.toContain(normal.id);

    await t
      .http()
      .post(review(randomUUID()))
      .set(bearer(a.checker2.token))
      .send({ outcome: 'accepted', note: 'fine' })
      .expect(404);
  });

  it('names the bad field: outcome, note (missing, blank, too long); and the list filter value', async () => {
    const id = await brokenGlass('Kill Insight on rv02', ['rv02']);
    const bad = async (body: object, field: string) => {
      const res = await t.http().post(review(id)).set(bearer(a.checker1.token)).send(body);
      expect([400, 422]).toContain(res.status);
      expect(JSON.stringify(res.body)).toContain(field);
    };
    await bad({}, 'outcome');
    await bad({}, 'note');
    await bad({ outcome: 'fine', note: 'x' }, 'outcome');
    await bad({ outcome: 'accepted' }, 'note');
    await bad({ outcome: 'accepted', note: '   ' }, 'note');
    await bad({ outcome: 'accepted', note: 'x'.repeat(2001) }, 'note');
    await bad({ outcome: 'accepted', note: 42 }, 'note');
    const filter = await t
      .http()
      .get('/api/change-requests')
      .query({ breakGlassReview: 'later' })
      .set(bearer(a.viewer.token))
      .expect(400);
    expect(JSON.stringify(filter.body)).toContain('breakGlassReview');
    // nothing was recorded by the refused attempts
    const view = await t.http().get(`/api/change-requests/${id}`).set(bearer(a.viewer.token)).expect(200);
    expect(view.body.breakGlass.review).toBeUndefined();
  });

  it('is for checkers only: viewers, makers, admins without the checker role and tokens are refused', async () => {
    const id = await brokenGlass('Kill Insight on rv03', ['rv03']);
    const body = { outcome: 'accepted', note: 'looks fine' };
    for (const token of [
      a.viewer.token,
      a.maker.token,
      a.admin.token,
      await apiToken(t, 'admin'),
      await apiToken(t, 'automation'),
      await apiToken(t, 'client'),
    ]) {
      const res = await t.http().post(review(id)).set(bearer(token)).send(body);
      expect(res.status).toBe(403);
    }
    await t.http().post(review(id)).send(body).expect(401);
    const view = await t.http().get(`/api/change-requests/${id}`).set(bearer(a.viewer.token)).expect(200);
    expect(view.body.breakGlass.review).toBeUndefined();
  });
});
