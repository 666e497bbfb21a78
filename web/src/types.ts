// Shapes of the service's responses as the UI reads them (DESIGN.md "REST contract"). Fields the contract marks
// optional, or that are still landing, are optional here and every page copes without them.

export type Role = 'viewer' | 'maker' | 'checker' | 'admin';

export interface User {
  id: string;
  email: string;
  name: string;
  roles: Role[];
}

export type Tier = 'internal' | 'standard' | 'key';

export interface PlannedTarget {
  type: string;
  id: string;
  tenantId?: string;
  name: string;
  tier: Tier;
  region?: string | null;
  state: string;
  action: string;
  to?: string;
  /** Facts read while the plan was built: a provider's answer (`platformState`, ...) or a restore's row counts. */
  detail?: Record<string, string | number | boolean | null>;
}

export interface HaltPolicy {
  strictWaves?: number;
  maxFailures?: number;
  maxFailureRate?: number;
  minSample?: number;
  maxErrorSignals?: number;
  signalWindowSeconds?: number;
}

export interface Plan {
  operation: string;
  version?: number;
  mode: string;
  risk?: 'reversible' | 'irreversible';
  targetType?: string;
  description?: string;
  reverseOperation?: string | null;
  params?: Record<string, unknown> | null;
  selector?: Record<string, unknown> | null;
  waveSettings?: { sizes?: number[]; percentages?: number[]; bakeSeconds?: number };
  haltPolicy?: HaltPolicy;
  summary: {
    targetCount: number;
    tenantCount?: number;
    byTier: Record<string, number>;
    byRegion?: Record<string, number>;
    byApp?: Record<string, number>;
    irreversible: boolean;
    shareOfTenants: number | null;
    activeTenants?: number;
    waveSizes?: number[];
    excludedBySelector?: number;
  };
  waves: { index: number; targets: PlannedTarget[] }[];
}

export interface Approval {
  userId?: string;
  user?: { id: string; name?: string; email?: string } | string;
  name?: string;
  planHash: string;
  revision?: number;
  comment?: string | null;
  at: string;
  valid?: boolean;
  voided?: boolean;
}

export interface Progress {
  pending?: number;
  running?: number;
  succeeded?: number;
  failed?: number;
  skipped?: number;
  rolled_back?: number;
  [k: string]: number | undefined;
}

export interface WaveProgress {
  index: number;
  status?: string;
  counts?: Progress;
  size?: number;
  total?: number;
}

export interface ChangeRequest {
  id: string;
  title: string;
  operation: string;
  status: string;
  revision: number;
  planHash: string;
  requiredApprovals: number;
  approvalReasons?: string[];
  approvals: Approval[];
  voidedApprovals?: Approval[];
  plan?: Plan;
  justification: string;
  ticket?: string | null;
  author?: { id: string; name?: string; email?: string } | string;
  authorId?: string;
  authorName?: string;
  editorIds?: string[];
  editors?: string[];
  selector?: Record<string, unknown> | null;
  approvalCount?: number;
  expiresAt?: string | null;
  environment?: string | null;
  createdAt?: string;
  updatedAt?: string;
  submittedAt?: string | null;
  approvedAt?: string | null;
  scheduledAt?: string | null;
  statusReason?: string | null;
  haltReason?: string | null;
  progress?: Progress;
  waves?: WaveProgress[];
  rollbackWaves?: WaveProgress[];
  nextWaveAt?: string | null;
  phase?: string;
  targetCount?: number;
  tenantCount?: number;
  risk?: string;
  breakGlass?: {
    by: string;
    incidentRef: string;
    at: string;
    /** The review after the fact (ADR 0010); absent until a checker has done it. */
    review?: { by: string; at: string; outcome: 'accepted' | 'concerns'; note: string };
  } | null;
  /** May the signed-in user review the break-glass execution, and if not why; null when there is none. */
  breakGlassReviewAccess?: { allowed: boolean; code?: string; reason?: string } | null;
  signals?: Signal[];
  /** People by name (issue 15). */
  people?: { author: Person; editors: Person[]; approvers: Person[]; reviewers: Person[]; executor: Person | null };
  allowedActions?: string[];
  availableCommands?: string[];
}

export interface Signal {
  id?: string;
  source: string;
  severity: string;
  state?: string;
  message?: string;
  tenantId?: string | null;
  flagKey?: string | null;
  environment?: string | null;
  count?: number;
  at: string;
}

export interface TargetStatus {
  type: string;
  id: string;
  wave: number;
  status: string;
  error?: string | null;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface Tenant {
  id: string;
  name: string;
  tier: Tier;
  region: string | null;
  attributes: Record<string, unknown>;
  status: string;
  softDeletedAt: string | null;
  purgeAfter: string | null;
  createdAt?: string;
  updatedAt?: string;
  installations: { appKey: string; status: string; deactivatedAt?: string | null }[];
  snapshots?: {
    id?: string;
    changeRequestId?: string | null;
    operation?: string;
    at?: string;
    createdAt?: string;
    sha256?: string;
    readable?: boolean;
  }[];
  erasureReceipt?: Record<string, unknown> | null;
}

export interface AuditItem {
  seq: number;
  at: string;
  actor: string;
  action: string;
  entityType: string;
  entityId: string;
  data: unknown;
  prevHash: string;
  hash: string;
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  headHash: string;
  firstBrokenSeq?: number;
  reason?: string;
}

/** A person as views show them (issue 15): the actor id the audit log uses, a name and an email. */
export interface Person {
  id: string;
  name: string;
  email: string | null;
  checker?: boolean;
}

export interface Comment {
  id: string;
  changeRequestId: string;
  author: Person;
  body: string;
  mentions: Person[];
  createdAt: string;
}

export interface Mention extends Comment {
  changeRequest: { id: string; title: string; status: string };
}
