import { DomainError, ErrorKind } from '../../common/errors';
import {
  Actor,
  CrCommand,
  CrSnapshot,
  CrStatus,
  CR_STATUSES,
  DEFAULT_PENDING_TTL_MS,
  DEFAULT_START_WINDOW_MS,
  SYSTEM_ACTOR,
  availableCommands,
  createChangeRequest,
  decide,
  expiryDue,
  isFinal,
  validApprovers,
} from './lifecycle';

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);
const T0 = new Date('2024-05-01T09:00:00.000Z');
const HOUR = 60 * 60 * 1000;
const at = (ms: number) => new Date(T0.getTime() + ms);

const author: Actor = { id: 'alice', roles: ['maker'] };
const makerCheckerAuthor: Actor = { id: 'alice', roles: ['maker', 'checker'] };
const otherMaker: Actor = { id: 'mallory', roles: ['maker', 'checker'] };
const bob: Actor = { id: 'bob', roles: ['checker'] };
const carol: Actor = { id: 'carol', roles: ['checker'] };
const dave: Actor = { id: 'dave', roles: ['checker'] };
const admin: Actor = { id: 'root', roles: ['admin'] };
const viewer: Actor = { id: 'vic', roles: ['viewer'] };

function cr(overrides: Partial<CrSnapshot> = {}): CrSnapshot {
  return {
    status: 'pending',
    authorId: 'alice',
    editorIds: [],
    revision: 1,
    planHash: HASH_A,
    requiredApprovals: 1,
    approvals: [],
    submittedAt: T0,
    pendingTtlMs: DEFAULT_PENDING_TTL_MS,
    startWindowMs: DEFAULT_START_WINDOW_MS,
    operationRisk: 'reversible',
    ...overrides,
  };
}

function approved(overrides: Partial<CrSnapshot> = {}): CrSnapshot {
  return cr({
    status: 'approved',
    approvals: [{ userId: 'bob', planHash: HASH_A, at: at(HOUR) }],
    approvedAt: at(HOUR),
    ...overrides,
  });
}

function refusal(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error('expected a DomainError, but the command was accepted');
}

function expectRefused(fn: () => unknown, kind: ErrorKind, code: string): DomainError {
  const error = refusal(fn);
  expect({ kind: error.kind, code: error.code }).toEqual({ kind, code });
  return error;
}

describe('change request lifecycle', () => {
  describe('create and submit', () => {
    it('creates a draft at revision 1 owned by the maker', () => {
      const { next, event } = createChangeRequest(
        { planHash: HASH_A, requiredApprovals: 2, operationRisk: 'irreversible' },
        author,
      );
      expect(event).toBe('change_request.created');
      expect(next).toMatchObject({
        status: 'draft',
        authorId: 'alice',
        revision: 1,
        approvals: [],
        editorIds: [],
        pendingTtlMs: DEFAULT_PENDING_TTL_MS,
        startWindowMs: DEFAULT_START_WINDOW_MS,
      });
    });

    it('refuses creation by a viewer or a checker-only user', () => {
      expectRefused(
        () =>
          createChangeRequest(
            { planHash: HASH_A, requiredApprovals: 1, operationRisk: 'reversible' },
            viewer,
          ),
        'forbidden',
        'CHANGE_REQUEST.ROLE_REQUIRED',
      );
      expectRefused(
        () =>
          createChangeRequest({ planHash: HASH_A, requiredApprovals: 1, operationRisk: 'reversible' }, bob),
        'forbidden',
        'CHANGE_REQUEST.ROLE_REQUIRED',
      );
    });

    it('submits a draft: pending, submittedAt set', () => {
      const d = decide(cr({ status: 'draft', submittedAt: undefined }), { type: 'submit' }, author, T0);
      expect(d.next.status).toBe('pending');
      expect(d.next.submittedAt).toEqual(T0);
      expect(d.event).toBe('change_request.submitted');
    });

    it('refuses to submit without a plan (422) or twice (409)', () => {
      expectRefused(
        () => decide(cr({ status: 'draft', planHash: '' }), { type: 'submit' }, author, T0),
        'unprocessable',
        'CHANGE_REQUEST.NO_PLAN',
      );
      expectRefused(
        () => decide(cr(), { type: 'submit' }, author, T0),
        'conflict',
        'CHANGE_REQUEST.INVALID_TRANSITION',
      );
    });
  });

  describe('rule 1: the author and every editor can never approve; approvers need the checker role', () => {
    it('refuses the author even when the author holds the checker role (403 SELF_APPROVAL)', () => {
      const e = expectRefused(
        () => decide(cr(), { type: 'approve', planHash: HASH_A }, makerCheckerAuthor, at(HOUR)),
        'forbidden',
        'CHANGE_REQUEST.SELF_APPROVAL',
      );
      expect(e.message).toMatch(/someone else/);
    });

    it('refuses a checker who edited the change request, even after further edits by others', () => {
      const edited = decide(cr(), { type: 'edit', planHash: HASH_B }, otherMaker, at(HOUR)).next;
      const reEdited = decide(edited, { type: 'edit', planHash: HASH_A }, author, at(2 * HOUR)).next;
      expect(reEdited.editorIds).toEqual(['mallory']);
      expectRefused(
        () => decide(reEdited, { type: 'approve', planHash: HASH_A }, otherMaker, at(3 * HOUR)),
        'forbidden',
        'CHANGE_REQUEST.SELF_APPROVAL',
      );
    });

    it('refuses makers, admins and viewers without the checker role (403 NOT_A_CHECKER)', () => {
      for (const actor of [{ id: 'm', roles: ['maker'] } as Actor, admin, viewer]) {
        expectRefused(
          () => decide(cr(), { type: 'approve', planHash: HASH_A }, actor, at(HOUR)),
          'forbidden',
          'CHANGE_REQUEST.NOT_A_CHECKER',
        );
      }
    });

    it('refuses the system actor as an approver', () => {
      expectRefused(
        () => decide(cr(), { type: 'approve', planHash: HASH_A }, SYSTEM_ACTOR, at(HOUR)),
        'forbidden',
        'CHANGE_REQUEST.NOT_A_CHECKER',
      );
    });

    it('does not count an approval stored for the author or an editor (corrupt data) toward the quorum', () => {
      const snapshot = cr({
        editorIds: ['mallory'],
        approvals: [
          { userId: 'alice', planHash: HASH_A, at: T0 },
          { userId: 'mallory', planHash: HASH_A, at: T0 },
        ],
      });
      expect(validApprovers(snapshot)).toEqual([]);
    });
  });

  describe('rule 2: a quorum of distinct approvers', () => {
    it('approves a reversible change request with one checker', () => {
      const d = decide(cr(), { type: 'approve', planHash: HASH_A, comment: 'looks right' }, bob, at(HOUR));
      expect(d.next.status).toBe('approved');
      expect(d.event).toBe('change_request.approved');
      expect(d.quorumReached).toBe(true);
      expect(d.next.approvedAt).toEqual(at(HOUR));
      expect(d.next.approvals).toEqual([
        { userId: 'bob', planHash: HASH_A, at: at(HOUR), comment: 'looks right' },
      ]);
    });

    it('needs two distinct checkers when two approvals are required', () => {
      const first = decide(
        cr({ requiredApprovals: 2 }),
        { type: 'approve', planHash: HASH_A },
        bob,
        at(HOUR),
      );
      expect(first.next.status).toBe('pending');
      expect(first.event).toBe('change_request.approval_added');
      expect(first.quorumReached).toBe(false);
      expect(first.approvalCount).toBe(1);

      const second = decide(first.next, { type: 'approve', planHash: HASH_A }, carol, at(2 * HOUR));
      expect(second.next.status).toBe('approved');
      expect(second.event).toBe('change_request.approved');
      expect(second.approvalCount).toBe(2);
    });

    it('counts one person once (409 ALREADY_APPROVED_BY_YOU)', () => {
      const first = decide(
        cr({ requiredApprovals: 2 }),
        { type: 'approve', planHash: HASH_A },
        bob,
        at(HOUR),
      );
      expectRefused(
        () => decide(first.next, { type: 'approve', planHash: HASH_A }, bob, at(2 * HOUR)),
        'conflict',
        'CHANGE_REQUEST.ALREADY_APPROVED_BY_YOU',
      );
    });

    it('never treats a required count of 0 as "no approval needed"', () => {
      expectRefused(
        () =>
          decide(
            approved({ requiredApprovals: 0, approvals: [] }),
            { type: 'execute' },
            author,
            at(2 * HOUR),
          ),
        'conflict',
        'CHANGE_REQUEST.QUORUM_NOT_REACHED',
      );
      const snapshot = cr({ requiredApprovals: 0 });
      const d = decide(snapshot, { type: 'approve', planHash: HASH_A }, bob, at(HOUR));
      expect(d.next.status).toBe('approved');
      expect(d.approvalCount).toBe(1);
    });

    it('refuses approving a change request that is not pending', () => {
      expectRefused(
        () => decide(cr({ status: 'draft' }), { type: 'approve', planHash: HASH_A }, bob, T0),
        'conflict',
        'CHANGE_REQUEST.INVALID_TRANSITION',
      );
      expectRefused(
        () => decide(approved(), { type: 'approve', planHash: HASH_A }, carol, at(2 * HOUR)),
        'conflict',
        'CHANGE_REQUEST.INVALID_TRANSITION',
      );
    });
  });

  describe('rule 3: an approval names the plan hash; any edit voids every approval', () => {
    it('refuses an approval for another hash (409 STALE_PLAN) naming the planHash field', () => {
      const e = expectRefused(
        () => decide(cr(), { type: 'approve', planHash: HASH_B }, bob, at(HOUR)),
        'conflict',
        'CHANGE_REQUEST.STALE_PLAN',
      );
      expect(e.details?.[0].field).toBe('planHash');
    });

    it('an edit of a pending CR keeps it pending, voids approvals, bumps the revision and restarts the TTL', () => {
      const first = decide(
        cr({ requiredApprovals: 2 }),
        { type: 'approve', planHash: HASH_A },
        bob,
        at(HOUR),
      ).next;
      const d = decide(
        first,
        { type: 'edit', planHash: HASH_B, requiredApprovals: 2 },
        otherMaker,
        at(2 * HOUR),
      );
      expect(d.next).toMatchObject({
        status: 'pending',
        revision: 2,
        planHash: HASH_B,
        approvals: [],
        editorIds: ['mallory'],
        submittedAt: at(2 * HOUR),
      });
      expect(d.event).toBe('change_request.edited');
      expect(d.voidedApprovals.map((a) => a.userId)).toEqual(['bob']);
    });

    it('voids approvals even when the edit leaves the plan hash unchanged', () => {
      const first = decide(
        cr({ requiredApprovals: 2 }),
        { type: 'approve', planHash: HASH_A },
        bob,
        at(HOUR),
      ).next;
      const d = decide(first, { type: 'edit', planHash: HASH_A }, author, at(2 * HOUR));
      expect(d.next.approvals).toEqual([]);
      expect(d.next.revision).toBe(2);
    });

    it('refuses an approval of the old hash after an edit', () => {
      const edited = decide(cr(), { type: 'edit', planHash: HASH_B }, author, at(HOUR)).next;
      expectRefused(
        () => decide(edited, { type: 'approve', planHash: HASH_A }, bob, at(2 * HOUR)),
        'conflict',
        'CHANGE_REQUEST.STALE_PLAN',
      );
      expect(decide(edited, { type: 'approve', planHash: HASH_B }, bob, at(2 * HOUR)).next.status).toBe(
        'approved',
      );
    });

    it('does not record the author as an editor', () => {
      const d = decide(cr({ status: 'draft' }), { type: 'edit', planHash: HASH_B }, author, T0);
      expect(d.next.editorIds).toEqual([]);
      expect(d.next.status).toBe('draft');
    });

    it('refuses edits once approved, and edits by non-makers', () => {
      expectRefused(
        () => decide(approved(), { type: 'edit', planHash: HASH_B }, author, at(2 * HOUR)),
        'conflict',
        'CHANGE_REQUEST.INVALID_TRANSITION',
      );
      expectRefused(
        () => decide(cr(), { type: 'edit', planHash: HASH_B }, bob, at(HOUR)),
        'forbidden',
        'CHANGE_REQUEST.ROLE_REQUIRED',
      );
    });
  });

  describe('rule 4: one rejection rejects', () => {
    it('rejects a CR that already has one of two approvals', () => {
      const first = decide(
        cr({ requiredApprovals: 2 }),
        { type: 'approve', planHash: HASH_A },
        bob,
        at(HOUR),
      ).next;
      const d = decide(first, { type: 'reject', comment: 'wrong app ids' }, carol, at(2 * HOUR));
      expect(d.next.status).toBe('rejected');
      expect(d.event).toBe('change_request.rejected');
      expect(d.reason).toBe('wrong app ids');
    });

    it('refuses a rejection that names another plan (409 STALE_PLAN) and accepts the current one', () => {
      const e = expectRefused(
        () => decide(cr(), { type: 'reject', comment: 'no', planHash: HASH_B }, bob, at(HOUR)),
        'conflict',
        'CHANGE_REQUEST.STALE_PLAN',
      );
      expect(e.details?.[0].field).toBe('planHash');
      expect(
        decide(cr(), { type: 'reject', comment: 'no', planHash: HASH_A }, bob, at(HOUR)).next.status,
      ).toBe('rejected');
    });

    it('lets a late objection reject an approved CR before it starts', () => {
      expect(decide(approved(), { type: 'reject', comment: 'wait' }, carol, at(2 * HOUR)).next.status).toBe(
        'rejected',
      );
    });

    it('needs a comment (422, field comment) and the checker role (403)', () => {
      const e = expectRefused(
        () => decide(cr(), { type: 'reject', comment: '  ' }, bob, at(HOUR)),
        'unprocessable',
        'CHANGE_REQUEST.COMMENT_REQUIRED',
      );
      expect(e.details?.[0].field).toBe('comment');
      expectRefused(
        () => decide(cr(), { type: 'reject', comment: 'no' }, author, at(HOUR)),
        'forbidden',
        'CHANGE_REQUEST.NOT_A_CHECKER',
      );
    });

    it('a rejected CR accepts no further command', () => {
      const rejected = cr({ status: 'rejected' });
      for (const actor of [author, bob, admin, SYSTEM_ACTOR]) {
        expect(availableCommands(rejected, actor, at(HOUR))).toEqual([]);
      }
    });
  });

  describe('rule 5: pending and approved change requests expire', () => {
    it('expires a pending CR exactly at submittedAt + TTL, not a millisecond before', () => {
      expectRefused(
        () => decide(cr(), { type: 'expire' }, SYSTEM_ACTOR, at(DEFAULT_PENDING_TTL_MS - 1)),
        'conflict',
        'CHANGE_REQUEST.NOT_EXPIRED',
      );
      const d = decide(cr(), { type: 'expire' }, SYSTEM_ACTOR, at(DEFAULT_PENDING_TTL_MS));
      expect(d.next.status).toBe('expired');
      expect(d.event).toBe('change_request.expired');
      expect(d.reason).toMatch(/Not approved within 24 h/);
    });

    it('refuses an approval of an overdue pending CR (409 EXPIRED), even before the sweep ran', () => {
      expectRefused(
        () => decide(cr(), { type: 'approve', planHash: HASH_A }, bob, at(25 * HOUR)),
        'conflict',
        'CHANGE_REQUEST.EXPIRED',
      );
    });

    it('refuses to revive an overdue pending CR by editing it', () => {
      expectRefused(
        () => decide(cr(), { type: 'edit', planHash: HASH_B }, author, at(25 * HOUR)),
        'conflict',
        'CHANGE_REQUEST.EXPIRED',
      );
    });

    it('expires an approved CR that did not start within its start window', () => {
      const snapshot = approved();
      expect(expiryDue(snapshot, at(HOUR + DEFAULT_START_WINDOW_MS - 1))).toBeNull();
      const d = decide(snapshot, { type: 'expire' }, SYSTEM_ACTOR, at(HOUR + DEFAULT_START_WINDOW_MS));
      expect(d.next.status).toBe('expired');
      expect(d.reason).toMatch(/start window of 4 h/);
    });

    it('checks the start window at the moment of execution (409 EXPIRED)', () => {
      const e = expectRefused(
        () => decide(approved(), { type: 'execute' }, author, at(HOUR + DEFAULT_START_WINDOW_MS + 1)),
        'conflict',
        'CHANGE_REQUEST.EXPIRED',
      );
      expect(e.message).toMatch(/needs a new approval/);
    });

    it('counts the start window from scheduledAt when the CR is scheduled later', () => {
      const snapshot = approved({ scheduledAt: at(10 * HOUR) });
      expect(expiryDue(snapshot, at(12 * HOUR))).toBeNull();
      expect(decide(snapshot, { type: 'execute' }, SYSTEM_ACTOR, at(12 * HOUR)).next.status).toBe('running');
      expect(expiryDue(snapshot, at(14 * HOUR))).not.toBeNull();
    });

    it('does not expire drafts or running CRs', () => {
      expect(expiryDue(cr({ status: 'draft' }), at(1000 * HOUR))).toBeNull();
      expectRefused(
        () => decide(approved({ status: 'running' }), { type: 'expire' }, SYSTEM_ACTOR, at(1000 * HOUR)),
        'conflict',
        'CHANGE_REQUEST.INVALID_TRANSITION',
      );
    });
  });

  describe('execute', () => {
    it('starts an approved CR', () => {
      const d = decide(approved(), { type: 'execute' }, author, at(2 * HOUR));
      expect(d.next.status).toBe('running');
      expect(d.event).toBe('change_request.started');
      expect(d.breakGlass).toBeUndefined();
    });

    it('re-checks the quorum on the current hash before starting', () => {
      const broken = approved({ approvals: [{ userId: 'bob', planHash: HASH_B, at: at(HOUR) }] });
      expectRefused(
        () => decide(broken, { type: 'execute' }, author, at(2 * HOUR)),
        'conflict',
        'CHANGE_REQUEST.QUORUM_NOT_REACHED',
      );
    });

    it('refuses a viewer and a pending CR', () => {
      expectRefused(
        () => decide(approved(), { type: 'execute' }, viewer, at(2 * HOUR)),
        'forbidden',
        'CHANGE_REQUEST.ROLE_REQUIRED',
      );
      expectRefused(
        () => decide(cr(), { type: 'execute' }, author, at(2 * HOUR)),
        'conflict',
        'CHANGE_REQUEST.INVALID_TRANSITION',
      );
    });
  });

  describe('cancel', () => {
    it.each<CrStatus>(['draft', 'pending', 'approved'])('the author cancels a %s CR', (status) => {
      const d = decide(approved({ status }), { type: 'cancel' }, author, at(2 * HOUR));
      expect(d.next.status).toBe('cancelled');
      expect(d.event).toBe('change_request.cancelled');
    });

    it('an admin may cancel, another maker may not', () => {
      expect(decide(cr(), { type: 'cancel' }, admin, at(HOUR)).next.status).toBe('cancelled');
      expectRefused(
        () => decide(cr(), { type: 'cancel' }, otherMaker, at(HOUR)),
        'forbidden',
        'CHANGE_REQUEST.NOT_AUTHOR_OR_ADMIN',
      );
    });

    it('cannot cancel a running CR (pause or halt it instead)', () => {
      expectRefused(
        () => decide(approved({ status: 'running' }), { type: 'cancel' }, author, at(2 * HOUR)),
        'conflict',
        'CHANGE_REQUEST.INVALID_TRANSITION',
      );
    });
  });

  describe('rule 7: resuming a halted CR needs a checker other than the author; a paused one does not', () => {
    const halted = approved({ status: 'halted', editorIds: ['mallory'] });
    const paused = approved({ status: 'paused' });

    it('the author (even a checker) cannot resume a halted CR', () => {
      expectRefused(
        () => decide(halted, { type: 'resume' }, makerCheckerAuthor, at(3 * HOUR)),
        'forbidden',
        'CHANGE_REQUEST.SELF_APPROVAL',
      );
    });

    it('an editor cannot resume a halted CR', () => {
      expectRefused(
        () => decide(halted, { type: 'resume' }, otherMaker, at(3 * HOUR)),
        'forbidden',
        'CHANGE_REQUEST.SELF_APPROVAL',
      );
    });

    it('a maker or an admin without the checker role cannot resume a halted CR', () => {
      expectRefused(
        () => decide(halted, { type: 'resume' }, { id: 'm2', roles: ['maker'] }, at(3 * HOUR)),
        'forbidden',
        'CHANGE_REQUEST.NOT_A_CHECKER',
      );
      expectRefused(
        () => decide(halted, { type: 'resume' }, admin, at(3 * HOUR)),
        'forbidden',
        'CHANGE_REQUEST.NOT_A_CHECKER',
      );
    });

    it('another checker resumes a halted CR', () => {
      const d = decide(halted, { type: 'resume', reason: 'alert was a false positive' }, carol, at(3 * HOUR));
      expect(d.next.status).toBe('running');
      expect(d.event).toBe('change_request.resumed');
    });

    it('the author resumes a CR they paused by hand', () => {
      expect(decide(paused, { type: 'resume' }, author, at(3 * HOUR)).next.status).toBe('running');
    });

    it('a viewer cannot resume a paused CR', () => {
      expectRefused(
        () => decide(paused, { type: 'resume' }, viewer, at(3 * HOUR)),
        'forbidden',
        'CHANGE_REQUEST.ROLE_REQUIRED',
      );
    });
  });

  describe('rule 8: break-glass execution', () => {
    const incident = { type: 'break_glass_execute', incidentRef: 'INC-4711' } as const;

    it('an admin starts a reversible CR without approval, flagged with the incident', () => {
      const d = decide(cr({ status: 'draft', authorId: 'root' }), incident, admin, T0);
      expect(d.next.status).toBe('running');
      expect(d.event).toBe('change_request.started');
      expect(d.breakGlass).toEqual({ by: 'root', incidentRef: 'INC-4711', at: T0 });
      expect(d.next.breakGlass).toEqual(d.breakGlass);
      expect(d.quorumReached).toBe(false);
    });

    it('never for an irreversible operation', () => {
      expectRefused(
        () => decide(cr({ operationRisk: 'irreversible' }), incident, admin, at(HOUR)),
        'forbidden',
        'CHANGE_REQUEST.BREAK_GLASS_IRREVERSIBLE',
      );
    });

    it('needs an incident reference (422, field incidentRef)', () => {
      const e = expectRefused(
        () => decide(cr(), { type: 'break_glass_execute', incidentRef: ' ' }, admin, at(HOUR)),
        'unprocessable',
        'CHANGE_REQUEST.INCIDENT_REF_REQUIRED',
      );
      expect(e.details?.[0].field).toBe('incidentRef');
    });

    it('only for admins, and not where it is switched off', () => {
      expectRefused(
        () => decide(cr(), incident, otherMaker, at(HOUR)),
        'forbidden',
        'CHANGE_REQUEST.BREAK_GLASS_ADMIN_ONLY',
      );
      expectRefused(
        () => decide(cr(), incident, SYSTEM_ACTOR, at(HOUR)),
        'forbidden',
        'CHANGE_REQUEST.BREAK_GLASS_ADMIN_ONLY',
      );
      expectRefused(
        () => decide(cr(), incident, admin, at(HOUR), { breakGlassEnabled: false }),
        'forbidden',
        'CHANGE_REQUEST.BREAK_GLASS_DISABLED',
      );
    });

    it('only from draft or pending', () => {
      expectRefused(
        () => decide(cr({ status: 'rejected' }), incident, admin, at(HOUR)),
        'conflict',
        'CHANGE_REQUEST.INVALID_TRANSITION',
      );
    });
  });

  describe('running, pause, halt, complete, abort, rollback', () => {
    const running = approved({ status: 'running' });

    it('any operator pauses a running CR', () => {
      const d = decide(running, { type: 'pause', reason: 'lunch' }, bob, at(2 * HOUR));
      expect(d.next.status).toBe('paused');
      expect(d.event).toBe('change_request.paused');
    });

    it('the engine halts a running CR with its reason; a halt without a reason is refused', () => {
      const d = decide(
        running,
        { type: 'halt', reason: '1 target failed in wave 1' },
        SYSTEM_ACTOR,
        at(2 * HOUR),
      );
      expect(d.next.status).toBe('halted');
      expect(d.event).toBe('change_request.halted');
      expect(d.reason).toBe('1 target failed in wave 1');
      expectRefused(
        () => decide(running, { type: 'halt' }, SYSTEM_ACTOR, at(2 * HOUR)),
        'unprocessable',
        'CHANGE_REQUEST.REASON_REQUIRED',
      );
    });

    it('a person halting without a reason gets a default one', () => {
      expect(decide(running, { type: 'halt' }, author, at(2 * HOUR)).reason).toBe('Halted by alice.');
    });

    it('a signal during a manual pause escalates it to halted', () => {
      const d = decide(
        approved({ status: 'paused' }),
        { type: 'halt', reason: 'critical signal' },
        SYSTEM_ACTOR,
        at(2 * HOUR),
      );
      expect(d.next.status).toBe('halted');
    });

    it('only the engine completes; people cannot', () => {
      expectRefused(
        () => decide(running, { type: 'complete' }, admin, at(2 * HOUR)),
        'forbidden',
        'CHANGE_REQUEST.SYSTEM_ONLY',
      );
      const d = decide(running, { type: 'complete' }, SYSTEM_ACTOR, at(2 * HOUR));
      expect(d.next.status).toBe('completed');
      expect(d.event).toBe('change_request.completed');
    });

    it.each<CrStatus>(['paused', 'halted'])('aborts a %s CR', (status) => {
      const d = decide(approved({ status }), { type: 'abort' }, author, at(2 * HOUR));
      expect(d.next.status).toBe('aborted');
      expect(d.event).toBe('change_request.aborted');
    });

    it('does not abort a running CR', () => {
      expectRefused(
        () => decide(running, { type: 'abort' }, author, at(2 * HOUR)),
        'conflict',
        'CHANGE_REQUEST.INVALID_TRANSITION',
      );
    });

    it.each<CrStatus>(['completed', 'aborted', 'halted', 'paused'])(
      'rolls back a reversible %s CR through rolling_back to rolled_back',
      (status) => {
        const d = decide(approved({ status }), { type: 'rollback' }, author, at(2 * HOUR));
        expect(d.next.status).toBe('rolling_back');
        expect(d.event).toBe('change_request.rollback_started');
        const done = decide(d.next, { type: 'complete' }, SYSTEM_ACTOR, at(3 * HOUR));
        expect(done.next.status).toBe('rolled_back');
        expect(done.event).toBe('change_request.rolled_back');
        expect(isFinal(done.next)).toBe(true);
      },
    );

    it('never rolls back an irreversible operation (422 NOT_REVERSIBLE)', () => {
      expectRefused(
        () =>
          decide(
            approved({ status: 'completed', operationRisk: 'irreversible' }),
            { type: 'rollback' },
            admin,
            at(2 * HOUR),
          ),
        'unprocessable',
        'CHANGE_REQUEST.NOT_REVERSIBLE',
      );
    });

    it('does not roll back a running CR, nor pause or halt a rollback', () => {
      expectRefused(
        () => decide(running, { type: 'rollback' }, author, at(2 * HOUR)),
        'conflict',
        'CHANGE_REQUEST.INVALID_TRANSITION',
      );
      const rollingBack = approved({ status: 'rolling_back' });
      expect(availableCommands(rollingBack, SYSTEM_ACTOR, at(2 * HOUR))).toEqual(['complete']);
      expect(availableCommands(rollingBack, admin, at(2 * HOUR))).toEqual([]);
    });

    it('INVALID_TRANSITION says what is allowed', () => {
      const e = refusal(() => decide(running, { type: 'abort' }, author, at(2 * HOUR)));
      expect(e.message).toBe('Cannot abort a change request that is running; only when paused or halted.');
    });
  });

  describe('availableCommands and isFinal', () => {
    it('offers approve and reject to a checker who is not the author', () => {
      expect(availableCommands(cr(), bob, at(HOUR)).sort()).toEqual(['approve', 'reject']);
    });

    it('offers edit, cancel and break-glass as appropriate to the author and an admin', () => {
      expect(availableCommands(cr(), author, at(HOUR)).sort()).toEqual(['cancel', 'edit']);
      expect(availableCommands(cr(), admin, at(HOUR)).sort()).toEqual([
        'break_glass_execute',
        'cancel',
        'edit',
      ]);
    });

    it('offers only expire (and stopping commands) once a pending CR is overdue', () => {
      expect(availableCommands(cr(), SYSTEM_ACTOR, at(25 * HOUR))).toEqual(['expire']);
      expect(availableCommands(cr(), bob, at(25 * HOUR)).sort()).toEqual(['expire', 'reject']);
    });

    it('knows which states are final', () => {
      const final = CR_STATUSES.filter((status) => isFinal({ status, operationRisk: 'reversible' }));
      expect(final).toEqual(['rejected', 'cancelled', 'expired', 'rolled_back']);
      expect(isFinal({ status: 'completed', operationRisk: 'irreversible' })).toBe(true);
    });

    it('refuses every command in every final state, for every actor', () => {
      const commands: CrCommand[] = [
        { type: 'submit' },
        { type: 'edit', planHash: HASH_A },
        { type: 'approve', planHash: HASH_A },
        { type: 'reject', comment: 'x' },
        { type: 'cancel' },
        { type: 'expire' },
        { type: 'execute' },
        { type: 'break_glass_execute', incidentRef: 'INC' },
        { type: 'pause' },
        { type: 'resume' },
        { type: 'halt', reason: 'x' },
        { type: 'complete' },
        { type: 'abort' },
        { type: 'rollback' },
      ];
      for (const status of ['rejected', 'cancelled', 'expired', 'rolled_back'] as const) {
        for (const actor of [author, bob, dave, admin, SYSTEM_ACTOR]) {
          for (const command of commands) {
            expect(() => decide(approved({ status }), command, actor, at(2 * HOUR))).toThrow(DomainError);
          }
        }
      }
    });
  });
});
