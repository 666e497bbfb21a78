// The rules every lifecycle command is checked by (see lifecycle.ts): which statuses a command may start from, who may
// give it (roles, the four-eyes rule), expiry (lifecycle rule 5) and the quorum of valid approvals (rules 1-3), and
// the shape of a decision. Pure: no Nest, no database, no clock.
import { conflict, forbidden } from '../../common/errors';
import {
  Actor,
  CR_ERROR_CODES,
  CrCommandType,
  CrDecision,
  CrEventName,
  CrSnapshot,
  CrStatus,
  Role,
} from './lifecycle.types';

// Which statuses each command may start from; drives INVALID_TRANSITION messages and availableCommands().
export const ALLOWED_FROM: Readonly<Record<CrCommandType, readonly CrStatus[]>> = {
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

export const ALL_COMMANDS = Object.keys(ALLOWED_FROM) as CrCommandType[];

/** Past its deadline (lifecycle rule 5): the deadline and why; null when not due. "At" the deadline is due. */
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

/** Distinct approvers on the current plan hash who are neither the author nor an editor (rules 1 and 3). */
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

/** The decision moving `from` to `next` with `event`; quorum and approval count are those of `next`. */
export function result(from: CrSnapshot, next: CrSnapshot, event: CrEventName): CrDecision {
  return {
    from: from.status,
    next,
    event,
    quorumReached: hasQuorum(next),
    approvalCount: validApprovers(next).length,
    voidedApprovals: [],
  };
}

export function quorumSize(cr: CrSnapshot): number {
  // A corrupt 0 must never mean "approved without anyone".
  return Math.max(1, cr.requiredApprovals);
}

export function hasRole(actor: Actor, role: Role): boolean {
  return !actor.system && actor.roles.includes(role);
}

export function isAuthorOrEditor(cr: CrSnapshot, userId: string): boolean {
  return userId === cr.authorId || cr.editorIds.includes(userId);
}

export function requireMaker(actor: Actor, what: string): void {
  if (!hasRole(actor, 'maker') && !hasRole(actor, 'admin')) {
    throw forbidden(CR_ERROR_CODES.ROLE_REQUIRED, `You need the maker or admin role to ${what}.`);
  }
}

export function requireOperator(actor: Actor, what: string): void {
  if (!hasRole(actor, 'maker') && !hasRole(actor, 'checker') && !hasRole(actor, 'admin')) {
    throw forbidden(CR_ERROR_CODES.ROLE_REQUIRED, `You need the maker, checker or admin role to ${what}.`);
  }
}

export function requireOperatorOrSystem(actor: Actor, what: string): void {
  if (!actor.system) requireOperator(actor, what);
}

export function requireFrom(cr: CrSnapshot, type: CrCommandType): void {
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

export function refuseIfOverdue(cr: CrSnapshot, now: Date, what: string): void {
  const due = expiryDue(cr, now);
  if (due) {
    throw conflict(CR_ERROR_CODES.EXPIRED, `Cannot ${what}: the change request has expired. ${due.reason}`);
  }
}

export function short(hash: string): string {
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
