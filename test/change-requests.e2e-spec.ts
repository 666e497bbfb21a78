import { createHash } from 'node:crypto';
import { FakeClock } from '../src/common/clock';
import { canonicalJson } from '../src/common/canonical-json';
import { ChangeRequestExpirySweeper } from '../src/change-requests/change-request.expiry';
import { bearer, startTestApp, TestApp } from './support/test-app';
import {
  Actors,
  apiToken,
  approveCr,
  createActors,
  createApps,
  createCr,
  crBody,
  CrView,
  importTenants,
  installations,
  pendingCr,
  submitCr,
} from './support/factories';

const HOUR = 3_600_000;

// Every rule of DESIGN.md "Change request lifecycle" that issue 3 covers, through HTTP on the real app.
describe('change requests: maker-checker lifecycle', () => {
  let t: TestApp;
  let a: Actors;
  let clock: FakeClock;
  let ids: string[];
  let makerChecker: { token: string; id: string };
  // 100 tenants, so that touching up to 10 stays inside the default blast radius (10 %): quorum 1.
  const few = (from: number, n = 2) => installations(ids.slice(from, from + n), 'insight');

  const events = async (entityId: string) => {
    const all: { type: string; entityId: string; data: Record<string, unknown> }[] = [];
    let after: string | undefined;
    for (;;) {
      const res = await t
        .http()
        .get('/api/events')
        .query({ limit: 1000, ...(after ? { after } : {}) })
        .set(bearer(t.adminToken))
        .expect(200);
      all.push(...res.body.items);
      if (res.body.items.length < 1000) break;
      after = res.body.nextCursor;
    }
    return all.filter((e) => e.entityId === entityId).map((e) => e.type);
  };
  const auditActions = async (entityId: string) => {
    const res = await t
      .http()
      .get('/api/audit')
      .query({ entityType: 'change_request', entityId, limit: 500 })
      .set(bearer(t.adminToken))
      .expect(200);
    return (res.body.items as { action: string }[]).map((e) => e.action).reverse();
  };
  const post = (path: string, token: string, body: object = {}) =>
    t.http().post(path).set(bearer(token)).send(body);

  beforeAll(async () => {
    clock = new FakeClock('2026-03-02T09:00:00.000Z');
    // Sessions outlive the days this suite fast-forwards through.
    t = await startTestApp({ clock, env: { WAVEGATE_SESSION_TTL_SECONDS: String(30 * 24 * 3600) } });
    a = await createActors(t);
    makerChecker = await t.userToken(['maker', 'checker']);
    await createApps(t);
    ids = await importTenants(t, 100);
  });
  afterAll(async () => {
    await t.close();
  });

  describe('create and plan', () => {
    it('creates a draft whose plan shows every target with name, tier, state and action, in waves, bound to its hash', async () => {
      const res = await post(
        '/api/change-requests',
        a.maker.token,
        crBody({ targets: installations(ids.slice(0, 10).reverse(), 'insight') }),
      ).expect(201);
      const cr = res.body as CrView;
      expect(cr).toMatchObject({ status: 'draft', revision: 1, requiredApprovals: 1, approvals: [] });
      expect(cr.plan).toMatchObject({ operation: 'installation.deactivate', mode: 'deactivate', params: {} });
      expect(cr.plan.summary).toMatchObject({
        targetCount: 10,
        tenantCount: 10,
        byTier: { internal: 5, standard: 4, key: 1 },
        irreversible: false,
        shareOfTenants: 0.1,
      });
      expect(cr.plan.waves.map((w) => w.targets.length)).toEqual([1, 2, 7]);
      expect(cr.plan.waves[0].targets[0]).toEqual(
        expect.objectContaining({
          type: 'installation',
          id: 't00000/insight',
          name: 'Tenant 0 / Insight',
          tier: 'internal',
          state: 'active',
          action: 'deactivate',
        }),
      );
      // internal first, key last, stable by id
      expect(cr.plan.waves.flatMap((w) => w.targets.map((x) => x.id)).slice(-1)).toEqual(['t00009/insight']);
      expect(cr.planHash).toBe(createHash('sha256').update(canonicalJson(cr.plan)).digest('hex'));
      // The same request against the same inventory gives the same hash.
      const again = await createCr(
        t,
        a.maker2.token,
        crBody({ targets: installations(ids.slice(0, 10), 'insight') }),
      );
      expect(again.planHash).toBe(cr.planHash);
    });

    it('takes explicit wave sizes, percentages, bake time and halt policy into the plan', async () => {
      const cr = await createCr(
        t,
        a.maker.token,
        crBody({
          targets: few(0, 10),
          waves: { sizes: [2, 3], bakeSeconds: 5 },
          haltPolicy: { maxFailures: 1 },
        }),
      );
      expect(cr.plan.waves.map((w) => w.targets.length)).toEqual([2, 3, 5]);
      expect(cr.plan).toMatchObject({
        waveSettings: { sizes: [2, 3], bakeSeconds: 5 },
        haltPolicy: { maxFailures: 1, maxErrorSignals: 1 },
      });
      const pct = await createCr(
        t,
        a.maker.token,
        crBody({ targets: few(0, 10), waves: { percentages: [10, 50] } }),
      );
      expect(pct.plan.waves.map((w) => w.targets.length)).toEqual([1, 4, 5]);
      const bad = await post(
        '/api/change-requests',
        a.maker.token,
        crBody({ targets: few(0), waves: { sizes: [0], percentages: [5] } }),
      ).expect(422);
      expect(bad.body.code).toBe('ROLLOUT.INVALID_WAVES');
    });

    it('resolves a selector when the plan is built, leaving out targets the operation cannot act on', async () => {
      const cr = await createCr(
        t,
        a.maker.token,
        crBody({ selector: { appKey: 'insight', tier: 'internal' } }),
      );
      expect(cr.plan.summary).toMatchObject({
        targetCount: 5,
        byTier: { internal: 5, standard: 0, key: 0 },
        byApp: { insight: 5 },
      });
      const none = await post(
        '/api/change-requests',
        a.maker.token,
        crBody({ selector: { region: 'mars' } }),
      ).expect(422);
      expect(none.body.code).toBe('CHANGE_REQUEST.NO_TARGETS');
      await post(
        '/api/change-requests',
        a.maker.token,
        crBody({ selector: { appKey: 'insight' }, targets: few(0) }),
      ).expect(422);
    });

    it('names every offending target: wrong type, unknown, duplicate, ineligible', async () => {
      const res = await post(
        '/api/change-requests',
        a.maker.token,
        crBody({
          targets: [
            { type: 'tenant', id: ids[0] },
            { type: 'installation', id: ids[1] },
            { type: 'installation', id: 'ghost/insight' },
            { type: 'installation', id: `${ids[2]}/insight` },
            { type: 'installation', id: `${ids[2]}/insight` },
            { type: 'installation', id: `${ids[3]}/nope` },
          ],
        }),
      ).expect(422);
      expect(res.body.code).toBe('CHANGE_REQUEST.WRONG_TARGET_TYPE');
      expect(res.body.details).toEqual([
        { target: `tenant:${ids[0]}`, reason: expect.stringContaining('wrong target type') },
        { target: `installation:${ids[2]}/insight`, reason: 'listed more than once' },
        {
          target: `installation:${ids[1]}`,
          reason: expect.stringContaining('is a tenant id, not an installation id'),
        },
        { target: 'installation:ghost/insight', reason: 'no tenant "ghost" in the inventory' },
        { target: `installation:${ids[3]}/nope`, reason: 'no app "nope" in the catalogue' },
      ]);
      const purge = await post(
        '/api/change-requests',
        a.maker.token,
        crBody({ operation: 'tenant.purge', ticket: 'INC-1', targets: [{ type: 'tenant', id: ids[0] }] }),
      ).expect(422);
      expect(purge.body).toMatchObject({
        code: 'CHANGE_REQUEST.INELIGIBLE_TARGET',
        details: [{ target: `tenant:${ids[0]}`, reason: expect.stringContaining('not soft-deleted') }],
      });
      const restore = await post(
        '/api/change-requests',
        a.maker.token,
        crBody({ operation: 'tenant.restore', targets: [{ type: 'tenant', id: ids[0] }] }),
      ).expect(422);
      expect(restore.body.details[0].reason).toContain('not soft-deleted');
      const unknownOp = await post(
        '/api/change-requests',
        a.maker.token,
        crBody({ operation: 'tenant.nuke', targets: few(0) }),
      ).expect(422);
      expect(unknownOp.body).toMatchObject({
        code: 'CHANGE_REQUEST.UNKNOWN_OPERATION',
        details: [{ field: 'operation' }],
      });
      const badParams = await post(
        '/api/change-requests',
        a.maker.token,
        crBody({ params: { mode: 'permanent' }, targets: few(0) }),
      ).expect(422);
      expect(badParams.body).toMatchObject({
        code: 'CHANGE_REQUEST.INVALID_PARAMS',
        details: [{ field: 'params.mode' }],
      });
    });

    it('requires a justification, and a ticket for irreversible operations', async () => {
      const noJust = await post('/api/change-requests', a.maker.token, {
        title: 'x',
        operation: 'installation.deactivate',
        targets: few(0),
      }).expect(400);
      expect(noJust.body.details.map((d: { field: string }) => d.field)).toEqual(
        expect.arrayContaining(['justification']),
      );
      expect(noJust.body.details.every((d: { field: string }) => d.field === 'justification')).toBe(true);
      await post(
        '/api/change-requests',
        a.maker.token,
        crBody({ justification: '   ', targets: few(0) }),
      ).expect(400);
      const noTicket = await post(
        '/api/change-requests',
        a.maker.token,
        crBody({ operation: 'tenant.purge', targets: [{ type: 'tenant', id: ids[0] }] }),
      ).expect(422);
      expect(noTicket.body).toMatchObject({
        code: 'CHANGE_REQUEST.TICKET_REQUIRED',
        details: [{ field: 'ticket' }],
      });
    });
  });

  describe('rule 1: the author and every editor can never approve; approvers need the checker role', () => {
    it('refuses the author (even one with the checker role) and every editor with SELF_APPROVAL', async () => {
      const cr = await pendingCr(t, makerChecker.token, crBody({ targets: few(10) }));
      const self = await post(`/api/change-requests/${cr.id}/approve`, makerChecker.token, {
        planHash: cr.planHash,
      }).expect(403);
      expect(self.body.code).toBe('CHANGE_REQUEST.SELF_APPROVAL');
      // Someone else edits it; from then on they cannot approve it either.
      const other = await t.userToken(['maker', 'checker']);
      const edited = await t
        .http()
        .patch(`/api/change-requests/${cr.id}`)
        .set(bearer(other.token))
        .send({ targets: few(10, 3) })
        .expect(200);
      expect(edited.body.editors).toContain(`user:${other.id}`);
      const editor = await post(`/api/change-requests/${cr.id}/approve`, other.token, {
        planHash: edited.body.planHash,
      }).expect(403);
      expect(editor.body.code).toBe('CHANGE_REQUEST.SELF_APPROVAL');
      await approveCr(t, a.checker1.token, edited.body);
    });

    it('refuses approvers without the checker role', async () => {
      const cr = await pendingCr(t, a.maker.token, crBody({ targets: few(12) }));
      await post(`/api/change-requests/${cr.id}/approve`, a.maker2.token, { planHash: cr.planHash }).expect(
        403,
      );
      await post(`/api/change-requests/${cr.id}/approve`, a.admin.token, { planHash: cr.planHash }).expect(
        403,
      );
      await post(`/api/change-requests/${cr.id}/approve`, a.viewer.token, { planHash: cr.planHash }).expect(
        403,
      );
    });

    it('does not let the person behind an automation token approve what the token wrote', async () => {
      const token = await apiToken(t, 'automation');
      const cr = await pendingCr(t, token, crBody({ targets: few(14) }));
      expect(cr.author).toMatch(/^token:/);
      await post(`/api/change-requests/${cr.id}/approve`, token, { planHash: cr.planHash }).expect(403);
      // The admin who created the token is also a checker here: still refused.
      const admin = await t.http().get('/api/auth/me').set(bearer(t.adminToken)).expect(200);
      const res = await post(`/api/change-requests/${cr.id}/approve`, t.adminToken, {
        planHash: cr.planHash,
      }).expect(403);
      expect(res.body.code).toBe('CHANGE_REQUEST.SELF_APPROVAL');
      expect(cr.editors).toContain(`user:${admin.body.id}`);
    });
  });

  describe('rule 2: a quorum of distinct approvers', () => {
    it('one approval for a reversible operation inside the blast radius; one person counts once', async () => {
      const cr = await pendingCr(t, a.maker.token, crBody({ targets: few(16) }));
      expect(cr.requiredApprovals).toBe(1);
      const approved = await approveCr(t, a.checker1.token, cr);
      expect(approved).toMatchObject({ status: 'approved', approvalCount: 1 });
      const twice = await post(`/api/change-requests/${cr.id}/approve`, a.checker1.token, {
        planHash: cr.planHash,
      }).expect(409);
      expect(twice.body.code).toBe('CHANGE_REQUEST.INVALID_TRANSITION');
    });

    it('two for an irreversible operation, from two different people', async () => {
      const cr = await pendingCr(
        t,
        a.maker.token,
        crBody({
          operation: 'http',
          params: { url: 'https://svc.internal/hook' },
          ticket: 'CHG-7',
          targets: [{ type: 'tenant', id: ids[20] }],
        }),
      );
      expect(cr.requiredApprovals).toBe(2);
      expect(cr.plan.summary.irreversible).toBe(true);
      const first = await approveCr(t, a.checker1.token, cr);
      expect(first).toMatchObject({ status: 'pending', approvalCount: 1 });
      const again = await post(`/api/change-requests/${cr.id}/approve`, a.checker1.token, {
        planHash: cr.planHash,
      }).expect(409);
      expect(again.body.code).toBe('CHANGE_REQUEST.ALREADY_APPROVED_BY_YOU');
      const second = await approveCr(t, a.checker2.token, cr);
      expect(second).toMatchObject({ status: 'approved', approvalCount: 2 });
      expect(await events(cr.id)).toEqual([
        'change_request.created',
        'change_request.submitted',
        'change_request.approval_added',
        'change_request.approved',
      ]);
    });

    it('two for a CR over the blast radius (more than 10 % of active tenants)', async () => {
      const cr = await createCr(t, a.maker.token, crBody({ targets: few(30, 11) }));
      expect(cr.requiredApprovals).toBe(2);
      expect(cr.approvalReasons).toEqual(expect.arrayContaining([expect.stringContaining('blast-radius')]));
    });
  });

  describe('rule 3: an approval names the plan hash; an edit makes a new plan and voids every approval', () => {
    it('refuses a stale hash with 409 STALE_PLAN, and voids approvals on edit', async () => {
      const cr = await pendingCr(
        t,
        a.maker.token,
        crBody({
          operation: 'http',
          params: { url: 'https://svc.internal/a' },
          ticket: 'CHG-8',
          targets: [{ type: 'tenant', id: ids[21] }],
        }),
      );
      const one = await approveCr(t, a.checker1.token, cr);
      expect(one.approvals).toHaveLength(1);
      const edited = await t
        .http()
        .patch(`/api/change-requests/${cr.id}`)
        .set(bearer(a.maker.token))
        .send({ params: { url: 'https://svc.internal/b' } })
        .expect(200);
      expect(edited.body).toMatchObject({ status: 'pending', revision: 2, approvals: [], approvalCount: 0 });
      expect(edited.body.planHash).not.toBe(cr.planHash);
      const stale = await post(`/api/change-requests/${cr.id}/approve`, a.checker2.token, {
        planHash: cr.planHash,
      }).expect(409);
      expect(stale.body.code).toBe('CHANGE_REQUEST.STALE_PLAN');
      // checker1's earlier approval no longer counts: two fresh approvals are needed.
      expect((await approveCr(t, a.checker1.token, edited.body)).status).toBe('pending');
      expect((await approveCr(t, a.checker2.token, edited.body)).status).toBe('approved');
      expect(await auditActions(cr.id)).toEqual([
        'change_request.created',
        'change_request.submitted',
        'change_request.approval_added',
        'change_request.edited',
        'change_request.approval_added',
        'change_request.approved',
      ]);
    });

    it('voids approvals even when the edit leaves the plan the same, and keeps explicit targets across edits', async () => {
      const cr = await pendingCr(
        t,
        a.maker.token,
        crBody({
          operation: 'http',
          params: { url: 'https://svc.internal/a' },
          ticket: 'CHG-9',
          targets: [{ type: 'tenant', id: ids[22] }],
        }),
      );
      await approveCr(t, a.checker1.token, cr);
      const edited = await t
        .http()
        .patch(`/api/change-requests/${cr.id}`)
        .set(bearer(a.maker.token))
        .send({ title: 'Renamed' })
        .expect(200);
      expect(edited.body).toMatchObject({
        title: 'Renamed',
        revision: 2,
        approvals: [],
        planHash: cr.planHash,
      });
      expect(edited.body.plan.waves[0].targets[0].id).toBe(ids[22]);
    });

    it('edits only drafts and pending CRs', async () => {
      const cr = await pendingCr(t, a.maker.token, crBody({ targets: few(40) }));
      await approveCr(t, a.checker1.token, cr);
      const res = await t
        .http()
        .patch(`/api/change-requests/${cr.id}`)
        .set(bearer(a.maker.token))
        .send({ title: 'late' })
        .expect(409);
      expect(res.body.code).toBe('CHANGE_REQUEST.INVALID_TRANSITION');
      await t
        .http()
        .patch(`/api/change-requests/${cr.id}`)
        .set(bearer(a.maker.token))
        .send({ operation: 'tenant.purge' })
        .expect(400);
    });
  });

  describe('rule 4: one rejection rejects', () => {
    it('rejects with a comment from pending, and from approved; nothing moves it afterwards', async () => {
      const cr = await pendingCr(
        t,
        a.maker.token,
        crBody({
          operation: 'http',
          params: { url: 'https://svc.internal/x' },
          ticket: 'CHG-1',
          targets: [{ type: 'tenant', id: ids[23] }],
        }),
      );
      await approveCr(t, a.checker1.token, cr);
      const empty = await post(`/api/change-requests/${cr.id}/reject`, a.checker2.token, {
        comment: ' ',
      }).expect(422);
      expect(empty.body.code).toBe('CHANGE_REQUEST.COMMENT_REQUIRED');
      const rejected = await post(`/api/change-requests/${cr.id}/reject`, a.checker2.token, {
        comment: 'wrong service',
      }).expect(200);
      expect(rejected.body).toMatchObject({ status: 'rejected', statusReason: 'wrong service' });
      await post(`/api/change-requests/${cr.id}/approve`, a.checker3.token, { planHash: cr.planHash }).expect(
        409,
      );
      await post(`/api/change-requests/${cr.id}/submit`, a.maker.token).expect(409);

      const approved = await pendingCr(t, a.maker.token, crBody({ targets: few(42) }));
      await approveCr(t, a.checker1.token, approved);
      const late = await post(`/api/change-requests/${approved.id}/reject`, a.checker2.token, {
        comment: 'not tonight',
      }).expect(200);
      expect(late.body.status).toBe('rejected');
      expect(await events(approved.id)).toContain('change_request.rejected');
    });
  });

  describe('cancel', () => {
    it('lets the author or an admin cancel, nobody else', async () => {
      const cr = await createCr(t, a.maker.token, crBody({ targets: few(44) }));
      const other = await post(`/api/change-requests/${cr.id}/cancel`, a.maker2.token).expect(403);
      expect(other.body.code).toBe('CHANGE_REQUEST.NOT_AUTHOR_OR_ADMIN');
      const done = await post(`/api/change-requests/${cr.id}/cancel`, a.maker.token, {
        reason: 'duplicate',
      }).expect(200);
      expect(done.body).toMatchObject({ status: 'cancelled', statusReason: 'duplicate' });
      const byAdmin = await pendingCr(t, a.maker.token, crBody({ targets: few(46) }));
      expect(
        (await post(`/api/change-requests/${byAdmin.id}/cancel`, a.admin.token).expect(200)).body.status,
      ).toBe('cancelled');
      expect(await events(cr.id)).toEqual(['change_request.created', 'change_request.cancelled']);
    });
  });

  describe('rule 5: pending and approved CRs expire', () => {
    it('expires a pending CR after 24 h through the sweep, and refuses approving it at the deadline', async () => {
      const cr = await pendingCr(t, a.maker.token, crBody({ targets: few(50) }));
      const lazy = await pendingCr(t, a.maker.token, crBody({ targets: few(52) }));
      clock.advance(24 * HOUR - 1000);
      expect(
        (await t.http().get(`/api/change-requests/${cr.id}`).set(bearer(a.viewer.token)).expect(200)).body
          .status,
      ).toBe('pending');
      clock.advance(1000);
      // At the deadline: approve is refused and the expiry recorded on the spot.
      const res = await post(`/api/change-requests/${lazy.id}/approve`, a.checker1.token, {
        planHash: lazy.planHash,
      }).expect(409);
      expect(res.body.code).toBe('CHANGE_REQUEST.EXPIRED');
      expect(
        (await t.http().get(`/api/change-requests/${lazy.id}`).set(bearer(a.viewer.token)).expect(200)).body
          .status,
      ).toBe('expired');
      expect(await t.app.get(ChangeRequestExpirySweeper).sweep()).toBeGreaterThanOrEqual(1);
      const got = await t.http().get(`/api/change-requests/${cr.id}`).set(bearer(a.viewer.token)).expect(200);
      expect(got.body).toMatchObject({ status: 'expired', statusReason: expect.stringContaining('24 h') });
      expect(await events(cr.id)).toContain('change_request.expired');
      expect(await auditActions(cr.id)).toContain('change_request.expired');
    });

    it('expires an approved CR that did not start within 4 h, also at the moment of execution', async () => {
      const cr = await pendingCr(t, a.maker.token, crBody({ targets: few(54) }));
      await approveCr(t, a.checker1.token, cr);
      clock.advance(4 * HOUR);
      const res = await post(`/api/change-requests/${cr.id}/execute`, a.maker.token).expect(409);
      expect(res.body.code).toBe('CHANGE_REQUEST.EXPIRED');
      const got = await t.http().get(`/api/change-requests/${cr.id}`).set(bearer(a.viewer.token)).expect(200);
      expect(got.body.status).toBe('expired');
    });

    it('starts an approved CR within its window', async () => {
      const cr = await pendingCr(t, a.maker.token, crBody({ targets: few(56) }));
      await approveCr(t, a.checker1.token, cr);
      clock.advance(HOUR);
      const res = await post(`/api/change-requests/${cr.id}/execute`, a.checker2.token).expect(200);
      expect(res.body.status).toBe('running');
      expect(await events(cr.id)).toContain('change_request.started');
    });
  });

  describe('lists', () => {
    it('filters by status and answers awaiting=me with what the caller could approve, with cursor pagination', async () => {
      const mine = await pendingCr(t, makerChecker.token, crBody({ targets: few(60) }));
      const theirs = await pendingCr(t, a.maker.token, crBody({ targets: few(62) }));
      const approvedByMe = await pendingCr(
        t,
        a.maker.token,
        crBody({
          operation: 'http',
          params: { url: 'https://svc.internal/l' },
          ticket: 'C-1',
          targets: [{ type: 'tenant', id: ids[64] }],
        }),
      );
      await approveCr(t, makerChecker.token, approvedByMe);
      const awaiting = await t
        .http()
        .get('/api/change-requests')
        .query({ awaiting: 'me', limit: 200 })
        .set(bearer(makerChecker.token))
        .expect(200);
      const awaitingIds = awaiting.body.items.map((i: { id: string }) => i.id);
      expect(awaitingIds).toContain(theirs.id);
      expect(awaitingIds).not.toContain(mine.id);
      expect(awaitingIds).not.toContain(approvedByMe.id);
      expect(awaiting.body.items.every((i: { status: string }) => i.status === 'pending')).toBe(true);
      const notChecker = await t
        .http()
        .get('/api/change-requests')
        .query({ awaiting: 'me' })
        .set(bearer(a.maker.token))
        .expect(200);
      expect(notChecker.body.items).toEqual([]);

      const pending = await t
        .http()
        .get('/api/change-requests')
        .query({ status: 'pending', limit: 200 })
        .set(bearer(a.viewer.token))
        .expect(200);
      expect(pending.body.items.every((i: { status: string }) => i.status === 'pending')).toBe(true);
      expect(pending.body.items[0]).not.toHaveProperty('plan');

      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const res = await t
          .http()
          .get('/api/change-requests')
          .query({ limit: 4, ...(cursor ? { cursor } : {}) })
          .set(bearer(a.viewer.token))
          .expect(200);
        seen.push(...res.body.items.map((i: { id: string }) => i.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      const all = await t
        .http()
        .get('/api/change-requests')
        .query({ limit: 200 })
        .set(bearer(a.viewer.token))
        .expect(200);
      expect(seen).toEqual(all.body.items.map((i: { id: string }) => i.id));
      expect(new Set(seen).size).toBe(seen.length);
      await t
        .http()
        .get('/api/change-requests')
        .query({ status: 'bogus' })
        .set(bearer(a.viewer.token))
        .expect(400);
    });
  });

  describe('policies', () => {
    it('lets an admin set per-operation quorum and expiry, each change audited', async () => {
      await t.http().put('/api/policies').set(bearer(a.maker.token)).send({}).expect(403);
      const bad = await t
        .http()
        .put('/api/policies')
        .set(bearer(a.admin.token))
        .send({ operations: { 'tenant.nuke': {}, 'tenant.purge': { irreversibleApprovals: 1 } } })
        .expect(422);
      expect(bad.body.details.map((d: { field: string }) => d.field).sort()).toEqual([
        'operations.tenant.nuke',
        'operations.tenant.purge.irreversibleApprovals',
      ]);
      const put = await t
        .http()
        .put('/api/policies')
        .set(bearer(a.admin.token))
        .send({
          operations: { 'installation.reactivate': { minApprovals: 3 } },
          environments: { production: { blastRadiusMaxTargets: 5 } },
          expiry: { pendingTtlSeconds: 3600 },
        })
        .expect(200);
      expect(put.body).toMatchObject({
        operations: { 'installation.reactivate': { minApprovals: 3 } },
        expiry: { pendingTtlSeconds: 3600, startWindowSeconds: 14400 },
      });
      const got = await t.http().get('/api/policies').set(bearer(a.admin.token)).expect(200);
      expect(got.body).toEqual(put.body);
      const cr = await createCr(t, a.maker.token, crBody({ targets: few(70) }));
      expect(cr.pendingTtlSeconds).toBe(3600);
      const audit = await t
        .http()
        .get('/api/audit')
        .query({ entityType: 'policy' })
        .set(bearer(a.admin.token))
        .expect(200);
      expect(audit.body.items.map((e: { entityId: string }) => e.entityId).sort()).toEqual([
        'environment:production',
        'expiry:default',
        'operation:installation.reactivate',
      ]);
      // Replacing a section removes what is not in it.
      await t
        .http()
        .put('/api/policies')
        .set(bearer(a.admin.token))
        .send({ operations: {}, expiry: { pendingTtlSeconds: 86400 } })
        .expect(200);
      const after = await t.http().get('/api/policies').set(bearer(a.admin.token)).expect(200);
      expect(after.body.operations).toEqual({});
      expect(after.body.environments).toEqual({ production: { blastRadiusMaxTargets: 5 } });
    });
  });

  describe('audit and outbox', () => {
    it('writes an audit entry and an outbox event for every transition, and the chain verifies', async () => {
      const cr = await createCr(t, a.maker.token, crBody({ targets: few(80) }));
      await submitCr(t, a.maker.token, cr.id);
      await approveCr(t, a.checker1.token, cr);
      const expected = ['change_request.created', 'change_request.submitted', 'change_request.approved'];
      expect(await auditActions(cr.id)).toEqual(expected);
      expect(await events(cr.id)).toEqual(expected);
      const verify = await t.http().get('/api/audit/verify').set(bearer(t.adminToken)).expect(200);
      expect(verify.body).toMatchObject({ ok: true });
    });
  });
});
