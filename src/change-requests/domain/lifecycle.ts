// The change request state machine as pure functions (DESIGN.md "Change request lifecycle", "Waves and halting";
// STYLE.md habit 1). No Nest, no database, no clock: the service loads a CrSnapshot, calls decide(), persists
// `decision.next` (with optimistic locking on `revision`/version), and writes `decision.event` to the outbox and the
// audit log in the same transaction.
//
// Public API
//   CR_STATUSES, type CrStatus         draft pending approved rejected cancelled expired running paused halted
//                                      completed aborted rolling_back rolled_back
//   CR_EVENTS, type CrEventName        change_request.{created,edited,submitted,approval_added,approved,rejected,
//                                      cancelled,expired,started,paused,resumed,halted,completed,aborted,
//                                      rollback_started,rolled_back,break_glass_reviewed}
//                                      (break_glass_reviewed comes from domain/break-glass-review.ts, not decide())
//   CR_ERROR_CODES                     every code decide() can throw (see the table at the end of this header)
//   type Role, interface Actor { id, roles, system? }, SYSTEM_ACTOR
//   interface Approval { userId, planHash, at, comment? }
//   interface CrSnapshot               see below; what decide() needs, nothing more
//   type CrCommand, type CrCommandType
//   interface LifecyclePolicy { breakGlassEnabled }, DEFAULT_LIFECYCLE_POLICY
//   DEFAULT_PENDING_TTL_MS (24 h), DEFAULT_START_WINDOW_MS (4 h)
//   createChangeRequest(input, actor): { next: CrSnapshot, event: 'change_request.created' }
//   decide(cr, command, actor, now, policy?): CrDecision         throws DomainError when the command is refused
//   expiryDue(cr, now): { deadline: Date, reason: string } | null   for the sweep and for eager expiry
//   validApprovers(cr): string[]       distinct approvers that count toward the quorum on the current plan
//   hasQuorum(cr): boolean
//   availableCommands(cr, actor, now, policy?): CrCommandType[]   which buttons the UI should offer this actor
//   isFinal(cr): boolean               no command can ever move the CR again
//
// Decisions
// - Refusals are THROWN as DomainError (forbidden 403 / conflict 409 / unprocessable 422), never returned: the one
//   exception filter maps them, and a forgotten check cannot turn a refusal into a persisted transition.
//   Check order: who you are (403) -> the state allows it (409) -> expiry (409 EXPIRED) -> the command's own
//   rules (stale hash 409, duplicate 409, missing comment 422, ...).
// - Expiry is lazy as well as swept: approve/edit/execute/break-glass on an overdue CR throw 409
//   CHANGE_REQUEST.EXPIRED. They do not persist the expiry themselves (a refusal changes nothing); the service should
//   then call decide(cr, {type: 'expire'}, SYSTEM_ACTOR, now) and persist that, or leave it to the sweep. Either way
//   an overdue CR can never be approved or started. Reject and cancel stay allowed on an overdue CR: they only stop it.
// - Pending expires at submittedAt + pendingTtlMs; approved expires at max(approvedAt, scheduledAt) + startWindowMs
//   (a CR scheduled for later gets its start window from its scheduled time). "At" the deadline counts as expired.
// - Edit is allowed in draft and pending. A pending CR STAYS pending after an edit: every approval is voided, the
//   revision goes up by one, the plan hash is replaced, the editor is recorded (never the author), and submittedAt
//   is reset to now so the checkers get a full TTL to review the new plan. It stays in their inbox.
// - Every edit voids every approval, even when the new plan hashes the same (the design: "any edit ... voids").
// - Quorum = distinct approvers, on the current planHash, who are neither the author nor an editor, at least
//   max(1, requiredApprovals). Approvers need the `checker` role; an admin without it cannot approve.
// - A non-final approval emits `change_request.approval_added`; the one that reaches the quorum moves the CR to
//   approved and emits `change_request.approved` (exactly once: the CR is then no longer pending).
// - Reject needs the `checker` role (anyone with it, editors included: stopping a change is never dangerous) and a
//   non-empty comment. One rejection rejects, from pending AND from approved (a late objection before the start still
//   stops it).
// - Cancel: the author or an admin, from draft / pending / approved.
// - Create / edit / submit: `maker` or `admin` role ("author or any maker": the author had to be a maker).
// - Operators = maker, checker or admin. Operators may execute, pause, halt, abort and rollback; viewers may do
//   nothing. SYSTEM_ACTOR (the scheduler and the engine) may execute (scheduledAt), halt, complete and expire.
//   `complete` is SYSTEM_ACTOR only: no human can declare a rollout finished.
// - Execute re-checks the quorum on the current hash (belt and braces: the executor is where damage happens).
// - Break-glass (`break_glass_execute`): an admin, a non-empty incident reference, a reversible operation, from draft
//   or pending, straight to running; the decision and `next.breakGlass` carry {by, incidentRef, at} so that the
//   audit entry and the webhook payload flag it. Irreversible: 403 BREAK_GLASS_IRREVERSIBLE. Can be switched off per
//   environment with `policy.breakGlassEnabled = false`. Event: `change_request.started` (with breakGlass set).
//   Every other command keeps `breakGlass` (and its `review`) as it is; the review after the fact is decided by
//   domain/break-glass-review.ts, outside the state machine, because it never changes the status.
// - Halt: running or paused -> halted (a signal may arrive while paused; halting then makes resume need a checker).
//   Resume from paused: any operator. Resume from halted: a checker who is neither the author nor an editor
//   (403 NOT_A_CHECKER / SELF_APPROVAL -- the same four-eyes rule as approving).
// - Rollback needs a state of its own, `rolling_back`: it runs as waves and takes time. Allowed for reversible
//   operations from completed / aborted / halted / paused (not from running: pause or halt first). While rolling back
//   only `complete` (by the engine) is accepted, which leads to `rolled_back`; a rollback is not paused or resumed
//   -- undo failures are recorded per target by the engine. rolled_back is final.
// - Abort: paused or halted -> aborted, any operator.
// - Final states: rejected, cancelled, expired, rolled_back; completed and aborted are final for irreversible
//   operations (nothing to roll back).
//
// Error codes (all prefixed CHANGE_REQUEST.)
//   403 NOT_A_CHECKER, SELF_APPROVAL, ROLE_REQUIRED, NOT_AUTHOR_OR_ADMIN, SYSTEM_ONLY, BREAK_GLASS_ADMIN_ONLY,
//       BREAK_GLASS_IRREVERSIBLE, BREAK_GLASS_DISABLED
//   409 INVALID_TRANSITION, STALE_PLAN, ALREADY_APPROVED_BY_YOU, EXPIRED, NOT_EXPIRED, QUORUM_NOT_REACHED
//   422 COMMENT_REQUIRED, INCIDENT_REF_REQUIRED, REASON_REQUIRED, NO_PLAN, NOT_REVERSIBLE
import { DomainError, conflict, forbidden, unprocessable } from '../../common/errors';

export const CR_STATUSES = [
  'draft',
  'pending',
  'approved',
  'rejected',
  'cancelled',
  'expired',
  'running',
  'paused',
  'halted',
  'completed',
  'aborted',
  'rolling_back',
  'rolled_back',
] as const;
export type CrStatus = (typeof CR_STATUSES)[number];

export const CR_EVENTS = [
  'change_request.created',
  'change_request.edited',
  'change_request.submitted',
  'change_request.approval_added',
  'change_request.approved',
  'change_request.rejected',
  'change_request.cancelled',
  'change_request.expired',
  'change_request.started',
  'change_request.paused',
  'change_request.resumed',
  'change_request.halted',
  'change_request.completed',
  'change_request.aborted',
  'change_request.rollback_started',
  'change_request.rolled_back',
  'change_request.break_glass_reviewed',
] as const;
export type CrEventName = (typeof CR_EVENTS)[number];

export const CR_ERROR_CODES = {
  NOT_A_CHECKER: 'CHANGE_REQUEST.NOT_A_CHECKER',
  SELF_APPROVAL: 'CHANGE_REQUEST.SELF_APPROVAL',
  ROLE_REQUIRED: 'CHANGE_REQUEST.ROLE_REQUIRED',
  NOT_AUTHOR_OR_ADMIN: 'CHANGE_REQUEST.NOT_AUTHOR_OR_ADMIN',
  SYSTEM_ONLY: 'CHANGE_REQUEST.SYSTEM_ONLY',
  BREAK_GLASS_ADMIN_ONLY: 'CHANGE_REQUEST.BREAK_GLASS_ADMIN_ONLY',
  BREAK_GLASS_IRREVERSIBLE: 'CHANGE_REQUEST.BREAK_GLASS_IRREVERSIBLE',
  BREAK_GLASS_DISABLED: 'CHANGE_REQUEST.BREAK_GLASS_DISABLED',
  INVALID_TRANSITION: 'CHANGE_REQUEST.INVALID_TRANSITION',
  STALE_PLAN: 'CHANGE_REQUEST.STALE_PLAN',
  ALREADY_APPROVED_BY_YOU: 'CHANGE_REQUEST.ALREADY_APPROVED_BY_YOU',
  EXPIRED: 'CHANGE_REQUEST.EXPIRED',
  NOT_EXPIRED: 'CHANGE_REQUEST.NOT_EXPIRED',
  QUORUM_NOT_REACHED: 'CHANGE_REQUEST.QUORUM_NOT_REACHED',
  COMMENT_REQUIRED: 'CHANGE_REQUEST.COMMENT_REQUIRED',
  INCIDENT_REF_REQUIRED: 'CHANGE_REQUEST.INCIDENT_REF_REQUIRED',
  REASON_REQUIRED: 'CHANGE_REQUEST.REASON_REQUIRED',
  NO_PLAN: 'CHANGE_REQUEST.NO_PLAN',
  NOT_REVERSIBLE: 'CHANGE_REQUEST.NOT_REVERSIBLE',
} as const;

export type Role = 'viewer' | 'maker' | 'checker' | 'admin';

export interface Actor {
  id: string;
  roles: readonly Role[];
  /** The scheduler / wave engine. Only SYSTEM_ACTOR should set this. */
  system?: boolean;
}

export const SYSTEM_ACTOR: Actor = Object.freeze({
  id: 'system',
  roles: Object.freeze([]) as readonly Role[],
  system: true,
});

export type OperationRisk = 'reversible' | 'irreversible';

export interface Approval {
  userId: string;
  planHash: string;
  at: Date;
  comment?: string;
}

export interface BreakGlass {
  by: string;
  incidentRef: string;
  at: Date;
  /** The after-the-fact review (domain/break-glass-review.ts); absent until a checker has done it. */
  review?: BreakGlassReview;
}

export type BreakGlassReviewOutcome = 'accepted' | 'concerns';

export interface BreakGlassReview {
  by: string;
  at: Date;
  outcome: BreakGlassReviewOutcome;
  note: string;
}

export interface CrSnapshot {
  status: CrStatus;
  authorId: string;
  /** Everyone who edited the CR after its creation (never the author). */
  editorIds: readonly string[];
  revision: number;
  planHash: string;
  requiredApprovals: number;
  approvals: readonly Approval[];
  submittedAt?: Date;
  approvedAt?: Date;
  /** When the scheduler should start it; the start window counts from here if later than approvedAt. */
  scheduledAt?: Date;
  pendingTtlMs: number;
  startWindowMs: number;
  operationRisk: OperationRisk;
  /** Set when an admin started it through the emergency path. */
  breakGlass?: BreakGlass;
}

export type CrCommand =
  | { type: 'submit' }
  | { type: 'edit'; planHash: string; requiredApprovals?: number }
  | { type: 'approve'; planHash: string; comment?: string }
  | { type: 'reject'; comment: string }
  | { type: 'cancel'; reason?: string }
  | { type: 'expire' }
  | { type: 'execute' }
  | { type: 'break_glass_execute'; incidentRef: string }
  | { type: 'pause'; reason?: string }
  | { type: 'resume'; reason?: string }
  | { type: 'halt'; reason?: string }
  | { type: 'complete' }
  | { type: 'abort'; reason?: string }
  | { type: 'rollback'; reason?: string };
export type CrCommandType = CrCommand['type'];

export interface CrDecision {
  from: CrStatus;
  /** The snapshot to persist; `next.status` is the new status. */
  next: CrSnapshot;
  event: CrEventName;
  /** Whether `next` holds a quorum of valid approvals on its current plan hash. */
  quorumReached: boolean;
  /** Valid approvals in `next` (see validApprovers). */
  approvalCount: number;
  /** Approvals this command voided (edit); empty otherwise. For the audit entry. */
  voidedApprovals: Approval[];
  /** Human-readable reason: reject comment, halt reason, expiry explanation, ... */
  reason?: string;
  /** Present on a break-glass start. */
  breakGlass?: BreakGlass;
}

export interface LifecyclePolicy {
  /** The emergency path can be switched off per environment. */
  breakGlassEnabled: boolean;
}

export const DEFAULT_LIFECYCLE_POLICY: Readonly<LifecyclePolicy> = Object.freeze({ breakGlassEnabled: true });

export const DEFAULT_PENDING_TTL_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_START_WINDOW_MS = 4 * 60 * 60 * 1000;

// Which statuses each command may start from; drives INVALID_TRANSITION messages and availableCommands().
const ALLOWED_FROM: Readonly<Record<CrCommandType, readonly CrStatus[]>> = {
  submit: ['draft'],
  edit: ['draft', 'pending'],
  approve: ['pending'],
  reject: ['pending', 'approved'],
  cancel: ['draft', 'pending', 'approved'],
  expire: ['pending', 'approved'],
  execute: ['approved'],
  break_glass_execute: ['draft', 'pending'],
  pause: ['running'],
  resume: ['paused', 'halted'],
  halt: ['running', 'paused'],
  complete: ['running', 'rolling_back'],
  abort: ['paused', 'halted'],
  rollback: ['completed', 'aborted', 'halted', 'paused'],
};

const ALL_COMMANDS = Object.keys(ALLOWED_FROM) as CrCommandType[];

export interface CreateChangeRequestInput {
  planHash: string;
  requiredApprovals: number;
  operationRisk: OperationRisk;
  pendingTtlMs?: number;
  startWindowMs?: number;
  scheduledAt?: Date;
}

export function createChangeRequest(
  input: CreateChangeRequestInput,
  actor: Actor,
): { next: CrSnapshot; event: 'change_request.created' } {
  requireMaker(actor, 'create a change request');
  return {
    next: {
      status: 'draft',
      authorId: actor.id,
      editorIds: [],
      revision: 1,
      planHash: input.planHash,
      requiredApprovals: input.requiredApprovals,
      approvals: [],
      scheduledAt: input.scheduledAt,
      pendingTtlMs: input.pendingTtlMs ?? DEFAULT_PENDING_TTL_MS,
      startWindowMs: input.startWindowMs ?? DEFAULT_START_WINDOW_MS,
      operationRisk: input.operationRisk,
    },
    event: 'change_request.created',
  };
}

export function decide(
  cr: CrSnapshot,
  command: CrCommand,
  actor: Actor,
  now: Date,
  policy: LifecyclePolicy = DEFAULT_LIFECYCLE_POLICY,
): CrDecision {
  switch (command.type) {
    case 'submit': {
      requireMaker(actor, 'submit a change request');
      requireFrom(cr, command.type);
      if (!cr.planHash) {
        throw unprocessable(
          CR_ERROR_CODES.NO_PLAN,
          'The change request has no plan yet; it cannot be submitted.',
        );
      }
      return result(
        cr,
        { ...cr, status: 'pending', approvals: [], submittedAt: now },
        'change_request.submitted',
      );
    }

    case 'edit': {
      requireMaker(actor, 'edit a change request');
      requireFrom(cr, command.type);
      refuseIfOverdue(cr, now, 'edit');
      const editorIds =
        actor.id === cr.authorId || cr.editorIds.includes(actor.id)
          ? [...cr.editorIds]
          : [...cr.editorIds, actor.id];
      const next: CrSnapshot = {
        ...cr,
        editorIds,
        revision: cr.revision + 1,
        planHash: command.planHash,
        requiredApprovals: command.requiredApprovals ?? cr.requiredApprovals,
        approvals: [],
        // A pending CR stays pending; its checkers get a full TTL for the new plan.
        submittedAt: cr.status === 'pending' ? now : cr.submittedAt,
      };
      return { ...result(cr, next, 'change_request.edited'), voidedApprovals: [...cr.approvals] };
    }

    case 'approve': {
      if (!hasRole(actor, 'checker')) {
        throw forbidden(CR_ERROR_CODES.NOT_A_CHECKER, 'Approving a change request needs the checker role.');
      }
      if (isAuthorOrEditor(cr, actor.id)) {
        throw forbidden(
          CR_ERROR_CODES.SELF_APPROVAL,
          actor.id === cr.authorId
            ? 'You wrote this change request; someone else must approve it.'
            : 'You edited this change request; someone who did not change it must approve it.',
        );
      }
      requireFrom(cr, command.type);
      refuseIfOverdue(cr, now, 'approve');
      if (command.planHash !== cr.planHash) {
        throw conflict(
          CR_ERROR_CODES.STALE_PLAN,
          `The plan changed since you looked at it (you approved ${short(command.planHash)}, the current plan is ` +
            `${short(cr.planHash)}, revision ${cr.revision}). Review the current plan and approve that.`,
          [{ field: 'planHash', reason: `does not match the current plan hash ${cr.planHash}` }],
        );
      }
      if (cr.approvals.some((a) => a.userId === actor.id && a.planHash === cr.planHash)) {
        throw conflict(
          CR_ERROR_CODES.ALREADY_APPROVED_BY_YOU,
          'You already approved this plan; one person counts once.',
        );
      }
      const approval: Approval = { userId: actor.id, planHash: command.planHash, at: now };
      if (command.comment !== undefined) approval.comment = command.comment;
      const withApproval: CrSnapshot = { ...cr, approvals: [...cr.approvals, approval] };
      if (hasQuorum(withApproval)) {
        return result(
          cr,
          { ...withApproval, status: 'approved', approvedAt: now },
          'change_request.approved',
        );
      }
      return result(cr, withApproval, 'change_request.approval_added');
    }

    case 'reject': {
      if (!hasRole(actor, 'checker')) {
        throw forbidden(CR_ERROR_CODES.NOT_A_CHECKER, 'Rejecting a change request needs the checker role.');
      }
      requireFrom(cr, command.type);
      const comment = (command.comment ?? '').trim();
      if (!comment) {
        throw unprocessable(CR_ERROR_CODES.COMMENT_REQUIRED, 'Say why you reject the change request.', [
          { field: 'comment', reason: 'must not be empty' },
        ]);
      }
      return { ...result(cr, { ...cr, status: 'rejected' }, 'change_request.rejected'), reason: comment };
    }

    case 'cancel': {
      if (actor.id !== cr.authorId && !hasRole(actor, 'admin')) {
        throw forbidden(
          CR_ERROR_CODES.NOT_AUTHOR_OR_ADMIN,
          'Only the author or an admin can cancel a change request.',
        );
      }
      requireFrom(cr, command.type);
      return {
        ...result(cr, { ...cr, status: 'cancelled' }, 'change_request.cancelled'),
        reason: command.reason,
      };
    }

    case 'expire': {
      // Anyone may ask: whether it is due depends only on the clock.
      requireFrom(cr, command.type);
      const due = expiryDue(cr, now);
      if (!due) {
        throw conflict(CR_ERROR_CODES.NOT_EXPIRED, 'The change request is not due to expire yet.');
      }
      return { ...result(cr, { ...cr, status: 'expired' }, 'change_request.expired'), reason: due.reason };
    }

    case 'execute': {
      requireOperatorOrSystem(actor, 'start a change request');
      requireFrom(cr, command.type);
      refuseIfOverdue(cr, now, 'start');
      if (!hasQuorum(cr)) {
        throw conflict(
          CR_ERROR_CODES.QUORUM_NOT_REACHED,
          `The change request has ${validApprovers(cr).length} valid approval(s) on its current plan; ` +
            `it needs ${quorumSize(cr)}.`,
        );
      }
      return result(cr, { ...cr, status: 'running' }, 'change_request.started');
    }

    case 'break_glass_execute': {
      if (actor.system || !hasRole(actor, 'admin')) {
        throw forbidden(
          CR_ERROR_CODES.BREAK_GLASS_ADMIN_ONLY,
          'Only an admin can start a change request without approval.',
        );
      }
      if (!policy.breakGlassEnabled) {
        throw forbidden(
          CR_ERROR_CODES.BREAK_GLASS_DISABLED,
          'The emergency path is switched off in this environment.',
        );
      }
      if (cr.operationRisk !== 'reversible') {
        throw forbidden(
          CR_ERROR_CODES.BREAK_GLASS_IRREVERSIBLE,
          'The emergency path is only for reversible operations; an irreversible one always needs its approvals.',
        );
      }
      requireFrom(cr, command.type);
      refuseIfOverdue(cr, now, 'start');
      const incidentRef = (command.incidentRef ?? '').trim();
      if (!incidentRef) {
        throw unprocessable(
          CR_ERROR_CODES.INCIDENT_REF_REQUIRED,
          'Starting without approval needs the reference of the incident that justifies it.',
          [{ field: 'incidentRef', reason: 'must not be empty' }],
        );
      }
      const breakGlass: BreakGlass = { by: actor.id, incidentRef, at: now };
      return {
        ...result(cr, { ...cr, status: 'running', breakGlass }, 'change_request.started'),
        breakGlass,
        reason: `Started without approval by ${actor.id} for incident ${incidentRef}; review it after the fact.`,
      };
    }

    case 'pause': {
      requireOperator(actor, 'pause a rollout');
      requireFrom(cr, command.type);
      return { ...result(cr, { ...cr, status: 'paused' }, 'change_request.paused'), reason: command.reason };
    }

    case 'halt': {
      requireOperatorOrSystem(actor, 'halt a rollout');
      requireFrom(cr, command.type);
      const reason = (command.reason ?? '').trim();
      if (!reason && actor.system) {
        // The engine must say why: the on-call engineer reads this first.
        throw unprocessable(CR_ERROR_CODES.REASON_REQUIRED, 'An automatic halt must carry its reason.', [
          { field: 'reason', reason: 'must not be empty' },
        ]);
      }
      return {
        ...result(cr, { ...cr, status: 'halted' }, 'change_request.halted'),
        reason: reason || `Halted by ${actor.id}.`,
      };
    }

    case 'resume': {
      if (cr.status === 'halted') {
        if (actor.system || !hasRole(actor, 'checker')) {
          throw forbidden(CR_ERROR_CODES.NOT_A_CHECKER, 'Resuming a halted rollout needs the checker role.');
        }
        if (isAuthorOrEditor(cr, actor.id)) {
          throw forbidden(
            CR_ERROR_CODES.SELF_APPROVAL,
            'You wrote or edited this change request; a checker who did not must decide to resume after a halt.',
          );
        }
      } else {
        requireOperator(actor, 'resume a rollout');
      }
      requireFrom(cr, command.type);
      return {
        ...result(cr, { ...cr, status: 'running' }, 'change_request.resumed'),
        reason: command.reason,
      };
    }

    case 'complete': {
      if (!actor.system) {
        throw forbidden(
          CR_ERROR_CODES.SYSTEM_ONLY,
          'Only the rollout engine marks a change request as finished.',
        );
      }
      requireFrom(cr, command.type);
      return cr.status === 'rolling_back'
        ? result(cr, { ...cr, status: 'rolled_back' }, 'change_request.rolled_back')
        : result(cr, { ...cr, status: 'completed' }, 'change_request.completed');
    }

    case 'abort': {
      requireOperator(actor, 'abort a rollout');
      requireFrom(cr, command.type);
      return {
        ...result(cr, { ...cr, status: 'aborted' }, 'change_request.aborted'),
        reason: command.reason,
      };
    }

    case 'rollback': {
      requireOperator(actor, 'roll back a change request');
      requireFrom(cr, command.type);
      if (cr.operationRisk !== 'reversible') {
        throw unprocessable(
          CR_ERROR_CODES.NOT_REVERSIBLE,
          'This operation is irreversible; it cannot be rolled back.',
        );
      }
      return {
        ...result(cr, { ...cr, status: 'rolling_back' }, 'change_request.rollback_started'),
        reason: command.reason,
      };
    }
  }
}

export function expiryDue(cr: CrSnapshot, now: Date): { deadline: Date; reason: string } | null {
  if (cr.status === 'pending' && cr.submittedAt) {
    const deadline = new Date(cr.submittedAt.getTime() + cr.pendingTtlMs);
    if (now.getTime() < deadline.getTime()) return null;
    return {
      deadline,
      reason:
        `Not approved within ${formatDuration(cr.pendingTtlMs)} of submission ` +
        `(submitted ${cr.submittedAt.toISOString()}, deadline ${deadline.toISOString()}).`,
    };
  }
  if (cr.status === 'approved' && cr.approvedAt) {
    const start = Math.max(cr.approvedAt.getTime(), cr.scheduledAt?.getTime() ?? 0);
    const deadline = new Date(start + cr.startWindowMs);
    if (now.getTime() < deadline.getTime()) return null;
    return {
      deadline,
      reason:
        `Not started within its start window of ${formatDuration(cr.startWindowMs)} ` +
        `(approved ${cr.approvedAt.toISOString()}, deadline ${deadline.toISOString()}); it needs a new approval.`,
    };
  }
  return null;
}

export function validApprovers(cr: CrSnapshot): string[] {
  const seen = new Set<string>();
  for (const a of cr.approvals) {
    if (a.planHash === cr.planHash && !isAuthorOrEditor(cr, a.userId)) seen.add(a.userId);
  }
  return [...seen];
}

export function hasQuorum(cr: CrSnapshot): boolean {
  return validApprovers(cr).length >= quorumSize(cr);
}

export function availableCommands(
  cr: CrSnapshot,
  actor: Actor,
  now: Date,
  policy: LifecyclePolicy = DEFAULT_LIFECYCLE_POLICY,
): CrCommandType[] {
  return ALL_COMMANDS.filter((type) => {
    try {
      decide(cr, sampleCommand(type, cr), actor, now, policy);
      return true;
    } catch (e) {
      if (e instanceof DomainError) return false;
      throw e;
    }
  });
}

export function isFinal(cr: Pick<CrSnapshot, 'status' | 'operationRisk'>): boolean {
  switch (cr.status) {
    case 'rejected':
    case 'cancelled':
    case 'expired':
    case 'rolled_back':
      return true;
    case 'completed':
    case 'aborted':
      return cr.operationRisk === 'irreversible';
    default:
      return false;
  }
}

// --- helpers ---------------------------------------------------------------------------------------------------

function result(from: CrSnapshot, next: CrSnapshot, event: CrEventName): CrDecision {
  return {
    from: from.status,
    next,
    event,
    quorumReached: hasQuorum(next),
    approvalCount: validApprovers(next).length,
    voidedApprovals: [],
  };
}

function quorumSize(cr: CrSnapshot): number {
  // A corrupt 0 must never mean "approved without anyone".
  return Math.max(1, cr.requiredApprovals);
}

function hasRole(actor: Actor, role: Role): boolean {
  return !actor.system && actor.roles.includes(role);
}

function isAuthorOrEditor(cr: CrSnapshot, userId: string): boolean {
  return userId === cr.authorId || cr.editorIds.includes(userId);
}

function requireMaker(actor: Actor, what: string): void {
  if (!hasRole(actor, 'maker') && !hasRole(actor, 'admin')) {
    throw forbidden(CR_ERROR_CODES.ROLE_REQUIRED, `You need the maker or admin role to ${what}.`);
  }
}

function requireOperator(actor: Actor, what: string): void {
  if (!hasRole(actor, 'maker') && !hasRole(actor, 'checker') && !hasRole(actor, 'admin')) {
    throw forbidden(CR_ERROR_CODES.ROLE_REQUIRED, `You need the maker, checker or admin role to ${what}.`);
  }
}

function requireOperatorOrSystem(actor: Actor, what: string): void {
  if (!actor.system) requireOperator(actor, what);
}

function requireFrom(cr: CrSnapshot, type: CrCommandType): void {
  const allowed = ALLOWED_FROM[type];
  if (!allowed.includes(cr.status)) {
    throw conflict(
      CR_ERROR_CODES.INVALID_TRANSITION,
      `Cannot ${type.replace(/_/g, ' ')} a change request that is ${cr.status.replace(/_/g, ' ')}; ` +
        `only when ${allowed.map((s) => s.replace(/_/g, ' ')).join(' or ')}.`,
      [{ field: 'status', reason: `is ${cr.status}` }],
    );
  }
}

function refuseIfOverdue(cr: CrSnapshot, now: Date, what: string): void {
  const due = expiryDue(cr, now);
  if (due) {
    throw conflict(CR_ERROR_CODES.EXPIRED, `Cannot ${what}: the change request has expired. ${due.reason}`);
  }
}

function sampleCommand(type: CrCommandType, cr: CrSnapshot): CrCommand {
  switch (type) {
    case 'edit':
    case 'approve':
      return { type, planHash: cr.planHash };
    case 'reject':
      return { type, comment: 'comment' };
    case 'break_glass_execute':
      return { type, incidentRef: 'incident' };
    case 'halt':
      return { type, reason: 'reason' };
    default:
      return { type } as CrCommand;
  }
}

function short(hash: string): string {
  return hash ? hash.slice(0, 12) : '(none)';
}

function formatDuration(ms: number): string {
  // Hours up to three days read better at 3 a.m. than "1 d".
  if (ms >= 3 * 86_400_000 && ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 60_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 1000)} s`;
}
