// What the approvals panel may offer the signed-in user, as plain functions of the CR, the user, the plan they have
// reviewed and the history: the current and voided approvals, and the first reason (if any) each button is disabled,
// in the order the service checks them (who you are, the state, the plan).
import { hasRole } from '../auth';
import { authorOf, sameUser } from '../format';
import type { Approval, AuditItem, ChangeRequest, User } from '../types';

export interface Reviewed {
  hash: string;
  revision: number;
}

export const approverOf = (a: Approval): string => {
  if (a.user && typeof a.user === 'object') return a.user.id;
  return (typeof a.user === 'string' ? a.user : a.userId) ?? '';
};

export const approverLabel = (a: Approval, who: (id: string) => string): string =>
  (a.user && typeof a.user === 'object' ? (a.user.name ?? a.user.email) : undefined) ?? a.name ?? who(approverOf(a));

export interface ApprovalRules {
  current: Approval[];
  voided: Approval[];
  voidedByEdit: number;
  isAuthor: boolean;
  stale: boolean;
  approveBlocked: string | null;
  rejectBlocked: string | null;
  canCancel: boolean;
  canSubmit: boolean;
  canEdit: boolean;
}

export function approvalRules(cr: ChangeRequest, user: User, reviewed: Reviewed | null, history: AuditItem[]): ApprovalRules {
  const current = cr.approvals.filter((a) => a.planHash === cr.planHash && a.voided !== true && a.valid !== false);
  const voided = [...(cr.voidedApprovals ?? []), ...cr.approvals.filter((a) => !current.includes(a))];
  // The latest edit's audit entry says how many approvals it voided.
  const lastEdit = history.find((h) => h.action === 'change_request.edited');
  const voidedByEdit = Number((lastEdit?.data as { voidedApprovals?: number } | undefined)?.voidedApprovals ?? 0);
  const isAuthor = sameUser(authorOf(cr).id, user.id);
  const isEditor = (cr.editors ?? cr.editorIds ?? []).some((e) => sameUser(e, user.id));
  const checker = hasRole(user, 'checker');
  // Only someone who could approve needs to be told the plan moved under them (not its author or editors).
  const stale = checker && !isAuthor && !isEditor && reviewed !== null && (reviewed.hash !== cr.planHash || reviewed.revision !== cr.revision);
  const alreadyApproved = current.some((a) => sameUser(approverOf(a), user.id));
  const offered = cr.availableCommands ?? cr.allowedActions;
  const roles = user.roles.join(', ') || 'no roles';

  let approveBlocked: string | null = null;
  if (isAuthor) approveBlocked = 'You wrote this change request: a second person must approve it.';
  else if (isEditor) approveBlocked = 'You edited this change request: someone who did not change it must approve it.';
  else if (!checker) approveBlocked = `Approving needs the checker role; you have ${roles}.`;
  else if (cr.status !== 'pending') approveBlocked = `Only a change request awaiting approval can be approved; this one is ${cr.status}.`;
  else if (stale) approveBlocked = `The plan changed while you were reading it (now revision ${cr.revision}); review the new plan first.`;
  else if (alreadyApproved) approveBlocked = `You already approved revision ${cr.revision}.`;
  else if (offered && !offered.includes('approve')) approveBlocked = 'The service does not allow you to approve it now (it may have expired).';

  let rejectBlocked: string | null = null;
  if (!checker) rejectBlocked = `Rejecting needs the checker role; you have ${roles}.`;
  else if (cr.status !== 'pending' && cr.status !== 'approved') rejectBlocked = `Only a pending or approved change request can be rejected; this one is ${cr.status}.`;

  return {
    current,
    voided,
    voidedByEdit,
    isAuthor,
    stale,
    approveBlocked,
    rejectBlocked,
    canCancel: (isAuthor || hasRole(user, 'admin')) && ['draft', 'pending', 'approved'].includes(cr.status),
    canSubmit: cr.status === 'draft' && hasRole(user, 'maker', 'admin'),
    canEdit: (cr.status === 'draft' || cr.status === 'pending') && hasRole(user, 'maker', 'admin'),
  };
}
