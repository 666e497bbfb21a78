import { bearer, startTestApp, TestApp } from './support/test-app';
import {
  Actors,
  createActors,
  createApps,
  crBody,
  importTenants,
  pendingCr,
  approveCr,
} from './support/factories';

// Optimistic locking on the CR: concurrent approvals are all recorded and the CR moves to approved exactly once;
// an edit racing an approval never leaves an approval attached to the new revision. Runs on SQLite and PostgreSQL.
describe('change requests: concurrency', () => {
  let t: TestApp;
  let a: Actors;
  let ids: string[];
  let n = 0;
  // `http` is irreversible: two approvals needed.
  const quorumTwo = () =>
    crBody({
      operation: 'http',
      params: { url: 'https://svc.internal/hook' },
      ticket: 'CHG-1',
      targets: [{ type: 'tenant', id: ids[n++] }],
    });
  const typesOf = async (id: string) => {
    const res = await t
      .http()
      .get('/api/events')
      .query({ limit: 1000 })
      .set(bearer(t.adminToken))
      .expect(200);
    return (res.body.items as { type: string; entityId: string }[])
      .filter((e) => e.entityId === id)
      .map((e) => e.type);
  };

  beforeAll(async () => {
    t = await startTestApp();
    a = await createActors(t);
    await createApps(t);
    ids = await importTenants(t, 200);
  });
  afterAll(async () => {
    await t.close();
  });

  it('records two simultaneous approvals and moves to approved exactly once', async () => {
    for (let round = 0; round < 5; round++) {
      const cr = await pendingCr(t, a.maker.token, quorumTwo());
      const results = await Promise.all(
        [a.checker1, a.checker2].map((c) =>
          t
            .http()
            .post(`/api/change-requests/${cr.id}/approve`)
            .set(bearer(c.token))
            .send({ planHash: cr.planHash }),
        ),
      );
      expect(results.map((r) => r.status)).toEqual([200, 200]);
      const got = await t.http().get(`/api/change-requests/${cr.id}`).set(bearer(a.viewer.token)).expect(200);
      expect(got.body).toMatchObject({ status: 'approved', approvalCount: 2 });
      expect(got.body.approvals.map((x: { userId: string }) => x.userId).sort()).toEqual(
        [`user:${a.checker1.id}`, `user:${a.checker2.id}`].sort(),
      );
      const types = await typesOf(cr.id);
      expect(types.filter((x) => x === 'change_request.approved')).toHaveLength(1);
      expect(types.filter((x) => x === 'change_request.approval_added')).toHaveLength(1);
    }
  });

  it('with three simultaneous checkers on a quorum of two: approved once, the late one refused', async () => {
    const cr = await pendingCr(t, a.maker.token, quorumTwo());
    const results = await Promise.all(
      [a.checker1, a.checker2, a.checker3].map((c) =>
        t
          .http()
          .post(`/api/change-requests/${cr.id}/approve`)
          .set(bearer(c.token))
          .send({ planHash: cr.planHash }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 409]);
    expect(results.find((r) => r.status === 409)!.body.code).toBe('CHANGE_REQUEST.INVALID_TRANSITION');
    expect((await typesOf(cr.id)).filter((x) => x === 'change_request.approved')).toHaveLength(1);
  });

  it('never leaves an approval attached to a revision it did not approve when an edit races an approval', async () => {
    for (let round = 0; round < 8; round++) {
      const cr = await pendingCr(t, a.maker.token, quorumTwo());
      await approveCr(t, a.checker1.token, cr);
      const [edit, approve] = await Promise.all([
        t
          .http()
          .patch(`/api/change-requests/${cr.id}`)
          .set(bearer(a.maker.token))
          .send({ params: { url: `https://svc.internal/v${round}` } }),
        t
          .http()
          .post(`/api/change-requests/${cr.id}/approve`)
          .set(bearer(a.checker2.token))
          .send({ planHash: cr.planHash }),
      ]);
      const got = await t.http().get(`/api/change-requests/${cr.id}`).set(bearer(a.viewer.token)).expect(200);
      for (const ap of got.body.approvals) {
        expect(ap.planHash).toBe(got.body.planHash);
        expect(ap.revision).toBe(got.body.revision);
      }
      if (edit.status === 200 && approve.status === 200) {
        // The approval came first and completed the quorum; the edit then found an approved CR -- impossible,
        // since edits are refused once approved. So one of them must have lost.
        throw new Error('both the edit and the approval succeeded');
      }
      if (edit.status === 200) {
        expect(got.body).toMatchObject({ status: 'pending', revision: 2, approvals: [] });
        expect([409]).toContain(approve.status);
        expect(approve.body.code).toBe('CHANGE_REQUEST.STALE_PLAN');
      } else {
        expect(edit.status).toBe(409);
        expect(got.body).toMatchObject({ status: 'approved', revision: 1, approvalCount: 2 });
      }
    }
  });
});
