// Deciding the commands of the review phase, from draft to a decision (see lifecycle.ts for the rules): submit, edit
// (voids every approval), approve (four eyes, bound to the plan hash; the quorum moves it to approved), reject,
// cancel and expire. Each checks who you are, then the state, then expiry, then the command's own rules, and throws
// a DomainError on refusal.
import { conflict, forbidden, unprocessable } from '../../common/errors';
import {
  expiryDue,
  hasQuorum,
  hasRole,
  isAuthorOrEditor,
  refuseIfOverdue,
  requireFrom,
  requireMaker,
  result,
  short,
} from './lifecycle.rules';
import { Actor, Approval, CR_ERROR_CODES, CrCommandOf, CrDecision, CrSnapshot } from './lifecycle.types';

export function onSubmit(
  cr: CrSnapshot,
  command: CrCommandOf<'submit'>,
  actor: Actor,
  now: Date,
): CrDecision {
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

export function onEdit(cr: CrSnapshot, command: CrCommandOf<'edit'>, actor: Actor, now: Date): CrDecision {
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

export function onApprove(
  cr: CrSnapshot,
  command: CrCommandOf<'approve'>,
  actor: Actor,
  now: Date,
): CrDecision {
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
    return result(cr, { ...withApproval, status: 'approved', approvedAt: now }, 'change_request.approved');
  }
  return result(cr, withApproval, 'change_request.approval_added');
}

export function onReject(cr: CrSnapshot, command: CrCommandOf<'reject'>, actor: Actor): CrDecision {
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
  // Optional for the API (a rejection stops the CR whatever its plan); Slack's Reject button always names the plan
  // its message showed, so a stale button cannot reject a plan the checker never saw.
  if (command.planHash !== undefined && command.planHash !== cr.planHash) {
    throw conflict(
      CR_ERROR_CODES.STALE_PLAN,
      `The plan changed since you looked at it (you rejected ${short(command.planHash)}, the current plan is ` +
        `${short(cr.planHash)}, revision ${cr.revision}). Review the current plan first.`,
      [{ field: 'planHash', reason: `does not match the current plan hash ${cr.planHash}` }],
    );
  }
  return { ...result(cr, { ...cr, status: 'rejected' }, 'change_request.rejected'), reason: comment };
}

export function onCancel(cr: CrSnapshot, command: CrCommandOf<'cancel'>, actor: Actor): CrDecision {
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

export function onExpire(
  cr: CrSnapshot,
  command: CrCommandOf<'expire'>,
  actor: Actor,
  now: Date,
): CrDecision {
  // Anyone may ask: whether it is due depends only on the clock.
  requireFrom(cr, command.type);
  const due = expiryDue(cr, now);
  if (!due) {
    throw conflict(CR_ERROR_CODES.NOT_EXPIRED, 'The change request is not due to expire yet.');
  }
  return { ...result(cr, { ...cr, status: 'expired' }, 'change_request.expired'), reason: due.reason };
}
