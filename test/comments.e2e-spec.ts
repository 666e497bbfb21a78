import {
  Actors,
  apiToken,
  createActors,
  createApps,
  crBody,
  importTenants,
  installations,
  pendingCr,
} from './support/factories';
import { bearer, startTestApp, TestApp } from './support/test-app';

// Issue 15, discussion and people by name: comments on a change request, in time order, with `@name` mentions that
// reach the mentioned person's inbox and the outbox (webhooks); in the audit log by hash; never a change to the plan.
describe('comments and people', () => {
  let t: TestApp;
  let a: Actors;
  const names: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestApp();
    a = await createActors(t);
    await createApps(t);
    await importTenants(t, 6);
    const users = await t.http().get('/api/users').set(bearer(t.adminToken)).expect(200);
    for (const u of users.body.items as { id: string; name: string }[]) names[u.id] = u.name;
  });
  afterAll(async () => {
    await t.close();
  });

  it('lists people by name to every signed-in reader, without roles or secrets', async () => {
    const res = await t.http().get('/api/people').set(bearer(a.viewer.token)).expect(200);
    const maker = (res.body.items as Record<string, unknown>[]).find((p) => p.id === `user:${a.maker.id}`);
    expect(maker).toEqual({
      id: `user:${a.maker.id}`,
      name: names[a.maker.id],
      email: expect.any(String),
      checker: false,
    });
    expect(JSON.stringify(res.body)).not.toMatch(/password|roles/i);
    await t.http().get('/api/people').expect(401);
  });

  it('keeps a discussion in time order, notifies the mentioned checker, and leaves the plan alone', async () => {
    const cr = await pendingCr(
      t,
      a.maker.token,
      crBody({ targets: installations(['t00001', 't00002'], 'insight') }),
    );
    const path = `/api/change-requests/${cr.id}/comments`;
    const first = await t
      .http()
      .post(path)
      .set(bearer(a.maker.token))
      .send({ body: `@${names[a.checker1.id]} can you look at wave 2 before lunch?` })
      .expect(201);
    expect(first.body.author).toEqual({
      id: `user:${a.maker.id}`,
      name: names[a.maker.id],
      email: expect.any(String),
    });
    expect(first.body.mentions.map((p: { id: string }) => p.id)).toEqual([`user:${a.checker1.id}`]);
    await t.http().post(path).set(bearer(a.checker1.token)).send({ body: 'Looks right to me.' }).expect(201);

    const list = await t.http().get(path).set(bearer(a.viewer.token)).expect(200);
    expect(list.body.items.map((c: { body: string }) => c.body)).toEqual([
      `@${names[a.checker1.id]} can you look at wave 2 before lunch?`,
      'Looks right to me.',
    ]);
    expect(list.body.items[1].author.name).toBe(names[a.checker1.id]);

    // The mentioned checker's inbox has it; someone not mentioned sees nothing.
    const mine = await t.http().get('/api/comments/mentions').set(bearer(a.checker1.token)).expect(200);
    expect(mine.body.items).toHaveLength(1);
    expect(mine.body.items[0].changeRequest).toEqual({
      id: cr.id,
      title: 'Retire insight',
      status: 'pending',
    });
    const other = await t.http().get('/api/comments/mentions').set(bearer(a.checker2.token)).expect(200);
    expect(other.body.items).toEqual([]);

    // The plan, its hash, the revision and the approvals are as they were: the checker can still approve it.
    const after = await t.http().get(`/api/change-requests/${cr.id}`).set(bearer(a.viewer.token)).expect(200);
    expect(after.body).toMatchObject({ planHash: cr.planHash, revision: cr.revision, status: 'pending' });
    await t
      .http()
      .post(`/api/change-requests/${cr.id}/approve`)
      .set(bearer(a.checker1.token))
      .send({ planHash: cr.planHash })
      .expect(200);

    // People by name in the CR view and the list: author and approvers as {id, name, email}.
    const named = await t.http().get(`/api/change-requests/${cr.id}`).set(bearer(a.viewer.token)).expect(200);
    expect(named.body.people).toMatchObject({
      author: { id: `user:${a.maker.id}`, name: names[a.maker.id], email: expect.any(String) },
      approvers: [{ id: `user:${a.checker1.id}`, name: names[a.checker1.id], email: expect.any(String) }],
      editors: [],
      executor: null,
    });
    const listed = await t.http().get('/api/change-requests').set(bearer(a.viewer.token)).expect(200);
    expect(listed.body.items.find((c: { id: string }) => c.id === cr.id).people.author.name).toBe(
      names[a.maker.id],
    );

    // Audit: ids and a hash of the text, never the text; the outbox event carries the text and the mentions.
    const audit = await t
      .http()
      .get(`/api/audit?entityType=change_request&entityId=${cr.id}&action=change_request.commented`)
      .set(bearer(t.adminToken))
      .expect(200);
    expect(audit.body.items).toHaveLength(2);
    expect(audit.body.items[0].data).toMatchObject({ bodySha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(JSON.stringify(audit.body.items)).not.toContain('before lunch');
    const events = await t.http().get('/api/events?limit=1000').set(bearer(t.adminToken)).expect(200);
    const commented = (
      events.body.items as { type: string; entityId: string; data: Record<string, unknown> }[]
    ).filter((e) => e.type === 'change_request.commented' && e.entityId === cr.id);
    expect(commented[0].data).toMatchObject({
      comment: expect.stringContaining('before lunch'),
      mentions: [`user:${a.checker1.id}`],
    });
    const verify = await t.http().get('/api/audit/verify').set(bearer(t.adminToken)).expect(200);
    expect(verify.body.ok).toBe(true);
  });

  it('refuses bad input with the field named, unknown CRs, and tokens', async () => {
    const cr = await pendingCr(t, a.maker.token, crBody({ targets: installations(['t00003'], 'insight') }));
    const blank = await t
      .http()
      .post(`/api/change-requests/${cr.id}/comments`)
      .set(bearer(a.checker1.token))
      .send({ body: '   ' })
      .expect(400);
    expect(JSON.stringify(blank.body)).toContain('body');
    await t
      .http()
      .post(`/api/change-requests/${cr.id}/comments`)
      .set(bearer(a.checker1.token))
      .send({ body: 'x'.repeat(5001) })
      .expect(400);
    await t
      .http()
      .post('/api/change-requests/00000000-0000-4000-8000-000000000000/comments')
      .set(bearer(a.checker1.token))
      .send({ body: 'hello' })
      .expect(404);
    const automation = await apiToken(t, 'automation');
    await t
      .http()
      .post(`/api/change-requests/${cr.id}/comments`)
      .set(bearer(automation))
      .send({ body: 'hello' })
      .expect(403);
    const list = await t
      .http()
      .get(`/api/change-requests/${cr.id}/comments`)
      .set(bearer(a.viewer.token))
      .expect(200);
    expect(list.body.items).toEqual([]);
  });
});
