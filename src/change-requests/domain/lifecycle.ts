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
//
// Files (all pure): lifecycle.types.ts (the vocabulary above), lifecycle.rules.ts (allowed-from table, role and
// four-eyes checks, expiry, quorum), lifecycle.review.ts (submit .. expire) and lifecycle.execution.ts (execute ..
// rollback) hold one decide function per command; this file is the entry point and re-exports the public API.
import { DomainError } from '../../common/errors';
import {
  onExecute,
  onBreakGlassExecute,
  onPause,
  onHalt,
  onResume,
  onComplete,
  onAbort,
  onRollback,
} from './lifecycle.execution';
import { onSubmit, onEdit, onApprove, onReject, onCancel, onExpire } from './lifecycle.review';
import { ALL_COMMANDS, requireMaker } from './lifecycle.rules';
import {
  Actor,
  CrCommand,
  CrCommandType,
  CrDecision,
  CrSnapshot,
  DEFAULT_LIFECYCLE_POLICY,
  DEFAULT_PENDING_TTL_MS,
  DEFAULT_START_WINDOW_MS,
  LifecyclePolicy,
  OperationRisk,
} from './lifecycle.types';

export * from './lifecycle.types';
export { expiryDue, hasQuorum, validApprovers } from './lifecycle.rules';

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
    case 'submit':
      return onSubmit(cr, command, actor, now);
    case 'edit':
      return onEdit(cr, command, actor, now);
    case 'approve':
      return onApprove(cr, command, actor, now);
    case 'reject':
      return onReject(cr, command, actor);
    case 'cancel':
      return onCancel(cr, command, actor);
    case 'expire':
      return onExpire(cr, command, actor, now);
    case 'execute':
      return onExecute(cr, command, actor, now);
    case 'break_glass_execute':
      return onBreakGlassExecute(cr, command, actor, now, policy);
    case 'pause':
      return onPause(cr, command, actor);
    case 'halt':
      return onHalt(cr, command, actor);
    case 'resume':
      return onResume(cr, command, actor);
    case 'complete':
      return onComplete(cr, command, actor);
    case 'abort':
      return onAbort(cr, command, actor);
    case 'rollback':
      return onRollback(cr, command, actor);
  }
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
