// The lifecycle's vocabulary (see lifecycle.ts for the rules): statuses, events, error codes, actors, the snapshot
// decide() reads, the commands it takes and the decision it returns. Types and constants only.

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
  /** `planHash`, when given, must be the current plan's: a rejection of a plan the checker did not see is refused. */
  | { type: 'reject'; comment: string; planHash?: string }
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

/** The command of one type, e.g. `CrCommandOf<'approve'>` = `{ type: 'approve'; planHash; comment? }`. */
export type CrCommandOf<T extends CrCommandType> = Extract<CrCommand, { type: T }>;
