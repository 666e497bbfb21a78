// The contract between planning (issue 3), the wave engine (issue 4) and modules that bring their own operations
// and targets (flags, issue 5). See docs/decisions/0002-tenants-and-change-requests.md.
import type { EntityManager } from 'typeorm';
import type { Tx } from '../common/transaction';

export const TARGET_TYPES = ['tenant', 'installation', 'flag', 'provider'] as const;
export type TargetType = (typeof TARGET_TYPES)[number];
export type OperationRisk = 'reversible' | 'irreversible';
export type TargetTier = 'internal' | 'standard' | 'key';

/** `tenant:acme`, `installation:acme/insight`: how a target is named in errors, audit data and the UI. */
export const targetRef = (t: { type: string; id: string }): string => `${t.type}:${t.id}`;

/** A target as the inventory knows it while the plan is built. */
export interface ResolvedTarget {
  type: TargetType;
  id: string;
  /** The tenant the target belongs to (its own id for a tenant); orders waves and counts the blast radius. */
  tenantId: string;
  /** Display name: the tenant's name, `<tenant name> / <app name>` for an installation. */
  name: string;
  tier: TargetTier;
  region: string | null;
  /** The target's own status (tenant status, installation status, ...): what eligibility and drift are judged on. */
  state: string;
  appKey?: string;
  /** Tenant targets: the apps installed in it (for the plan summary). */
  apps?: string[];
  /** The owning tenant's facts, for eligibility rules that look past the target itself. */
  tenant?: { status: string; softDeletedAt: Date | null; purgeAfter: Date | null };
  /**
   * Facts about the target shown in the plan as `detail` (so covered by its hash): what `Operation.inspectTargets`
   * found out, or what the platform said about it (`Operation.readPlatform`).
   */
  detail?: TargetDetail;
}

/**
 * What a provider's platform said about one target while the plan was built (docs/providers.md). `state` replaces the
 * inventory's copy as the target's planned state (null: the platform does not know it); `detail` is shown in the plan.
 */
export interface PlatformRead {
  state: string | null;
  detail: TargetDetail;
}

/**
 * Facts about one target that only I/O can tell (the capture a restore writes back, the rows it restores, overwrites
 * and removes), shown in the plan beside action and state and covered by its hash. ADR 0015.
 */
// Plain JSON (stored in the plan as canonical JSON). Nested values are typed `object`, not a recursive JSON type:
// the plan is a TypeORM column, and TypeORM's deep-partial types do not terminate on recursive ones.
export type TargetDetail = { [key: string]: string | number | boolean | null | object };

/** What `Operation.inspectTargets` answers, all keyed by target id. */
export interface TargetInspection {
  /** Facts per target, set as `detail` on the target and so in the plan. */
  detail: Map<string, TargetDetail>;
  /**
   * Targets the inventory does not know that the operation resolved itself (a tenant deleted outright from the
   * database, as the archive knew it). They are judged by `checkEligible` like the others.
   */
  resolved?: Map<string, ResolvedTarget>;
  /** Why a target cannot be part of the plan: a listed one is refused (422 naming it), a selected one excluded. */
  refused?: Map<string, string>;
  /** Why an id neither the inventory nor the operation could resolve is unknown (replaces the resolver's reason). */
  unknown?: Map<string, string>;
}

/** One target in the stored plan. `state` is what the engine compares with the inventory before applying (rule 6). */
export interface PlannedTarget {
  type: TargetType;
  id: string;
  tenantId: string;
  name: string;
  tier: TargetTier;
  region: string | null;
  /** State when the plan was built. */
  state: string;
  /** What the operation does to this target, e.g. `deactivate`. */
  action: string;
  /** The state the target will be in afterwards. */
  to: string;
  /** Facts the plan shows beyond action and state (`Operation.inspectTargets`); absent when there are none. */
  detail?: TargetDetail;
}

export interface PlanContext<P> {
  now: Date;
  params: P;
}

/** What the engine hands an operation's apply/undo (filled in by the engine issue). */
export interface ExecutionContext<P> {
  tx: Tx;
  changeRequestId: string;
  revision: number;
  params: P;
  /** `crId:revision:target`; an operation applies to a target at most once per key. */
  idempotencyKey: string;
  /** What the operation's `prefetch` read for this batch, by tenant id (absent when it has none). */
  prefetched?: Map<string, unknown>;
}

/**
 * What the engine hands an external executor. There is no transaction: the call happens outside any (a network call
 * must not hold the SQLite writer or a PostgreSQL transaction open); `read` runs a short one of its own first.
 */
export interface ExternalCallContext<P> {
  changeRequestId: string;
  revision: number;
  params: P;
  /** `crId:revision:target` (`crId:revision:undo:target` for an undo): send it as the call's Idempotency-Key. */
  idempotencyKey: string;
  now(): Date;
  /** A key derived from WAVEGATE_SECRET for one purpose (`http-operation`), e.g. to sign the call. */
  signingKey(purpose: string): Buffer;
  /** Per attempt of the call, and the waits between attempts (engine settings). */
  timeoutMs: number;
  backoffMs: number[];
  /** Runs `fn` in a short transaction of its own, before the call (e.g. to check an allowlist). */
  read<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T>;
}

/**
 * An operation whose targets are applied by calling a system outside Wavegate's database (the `http` operation, a
 * provider's platform). The engine marks the target running and commits, calls `apply` (or `undo` on rollback)
 * outside any transaction, then records the outcome; a throw is the target's failure. After a crash in between the
 * call is made again with the same idempotency key, so the other side must honour it.
 */
export interface ExternalExecutor<P> {
  apply(target: PlannedTarget, ctx: ExternalCallContext<P>): Promise<void | ExternalResult>;
  undo?(target: PlannedTarget, ctx: ExternalCallContext<P>): Promise<void | ExternalResult>;
  /**
   * A tenant health probe (a provider's `verify`), called after each applied target and at the end of each wave's
   * bake for the tenants the wave touched. Resolves to null when healthy, else the reason (a timeout is a reason);
   * the engine records it as a `probe` signal scoped to the CR and the tenant, which feeds the halt policy.
   */
  verify?(tenantId: string, ctx: ExternalCallContext<P>): Promise<string | null>;
}

/** A capture of the tenant's rows in the platform's database, taken by a data connector (ADR 0012). */
export interface CaptureRef {
  connector: string;
  captureId: string;
  captureHash: string;
  rowCount: number;
  /** A restore's rows written, overwritten, removed and left as they were. */
  counts?: { write: number; overwrite: number; remove: number; unchanged: number };
}

/** What an external call reports back; recorded with the target's result and in its audit entry. */
export interface ExternalResult {
  /** Captures taken before the call (by a `BeforeDestructiveHook`) or restored from (`tenant.restore`). */
  captures?: CaptureRef[];
}

/**
 * Runs before an external call of a destructive operation (`isDestructive`) touches a target, outside any
 * transaction; what it returns is recorded with the target's result. A throw fails the target and the destructive
 * call is not made (no capture, no deletion). Data connectors register one (ADR 0012).
 */
export type BeforeDestructiveHook = (
  op: Operation<unknown>,
  target: PlannedTarget,
  ctx: ExternalCallContext<unknown>,
) => Promise<CaptureRef[]>;

/** Modes that destroy or hide tenant data (a provider's operation may declare any of them). */
export const DESTRUCTIVE_MODES: ReadonlySet<string> = new Set([
  'mark_for_deletion',
  'soft_delete',
  'permanent_delete',
  'delete',
  'purge',
]);

/** Irreversible, or a mode that deletes: what a data connector captures the tenant's rows before. */
export const isDestructive = (op: Pick<Operation<unknown>, 'risk' | 'mode'>): boolean =>
  op.risk === 'irreversible' || DESTRUCTIVE_MODES.has(op.mode);

/**
 * A named, versioned piece of code that knows its target type, its risk, how to judge and describe a target in a
 * plan, and (engine issue) how to apply and undo itself. Register with `OperationRegistry.register()`.
 */
export interface Operation<P = Record<string, unknown>> {
  readonly name: string;
  /** Bumped when what the operation does changes; part of the plan (and so of its hash). */
  readonly version: number;
  readonly targetType: TargetType;
  readonly risk: OperationRisk;
  /** What kind of change, in one token the checker cannot misread: `deactivate`, `mark_for_deletion`, `permanent_delete`. */
  readonly mode: string;
  /** One sentence for the plan: what happens to each target. */
  readonly summary: string;
  /** The operation that reverses this one, if any (`tenant.soft_delete` -> `tenant.restore`). */
  readonly reverseOperation?: string;
  /** A stand-in registered before its module exists; the real registration replaces it. */
  readonly provisional?: boolean;
  /** Validates and normalises `params`; throws a 422 naming each bad field (`params.url`). */
  parseParams(params: Record<string, unknown>): P;
  /** null when eligible; otherwise the reason, written for the maker (`not soft-deleted (status active)`). */
  checkEligible(target: ResolvedTarget, ctx: PlanContext<P>): string | null;
  /** How the target reads in the plan; `target.detail` holds what `inspectTargets` found. */
  describe(target: ResolvedTarget, ctx: PlanContext<P>): { action: string; to: string };
  /**
   * Optional, the one place where planning does I/O beyond the inventory (ADR 0015). Called once per plan, after
   * `checkEligible`, with the eligible targets the inventory resolved and the listed ids it does not know (always
   * none for a selector). Answers facts per target (shown in the plan as `detail`, so covered by its hash), targets
   * it resolved itself (a tenant deleted outright, as the archive knew it), refusals and reasons for unknown ids.
   * A connector reads its latest capture and diffs it; a point-in-time restore reads the tenant at the moment.
   */
  inspectTargets?(
    m: EntityManager,
    request: { targets: readonly ResolvedTarget[]; unresolved: readonly string[] },
    ctx: PlanContext<P>,
  ): Promise<TargetInspection>;
  /**
   * Reads what the targets of a batch need from outside Wavegate's database (e.g. an archive on disk), made once per batch
   * before its transaction opens (a slow read must not hold the SQLite writer); handed to `apply` as
   * `ctx.prefetched`, keyed by tenant id. An error for a target belongs in the map: `apply` throws it.
   */
  prefetch?(
    targets: readonly PlannedTarget[],
    ctx: { params: P; changeRequestId: string },
  ): Promise<Map<string, unknown>>;
  /** Engine issue: applies the operation to one target inside `ctx.tx`. */
  apply?(target: PlannedTarget, ctx: ExecutionContext<P>): Promise<void>;
  /** Engine issue: reverses `apply` for one target (reversible operations only). */
  undo?(target: PlannedTarget, ctx: ExecutionContext<P>): Promise<void>;
  /** Instead of `apply`/`undo`: the targets are applied by calling another system, outside any transaction. */
  readonly external?: ExternalExecutor<P>;
  /** Set on operations a provider brings (`<provider>.<operation>`): they are replaced when the provider changes. */
  readonly provider?: string;
  /**
   * Provider operations: reads the targets' current state from the platform, in batches, BEFORE the transaction that
   * builds the plan opens (a network call must not hold the SQLite writer). Throws a 422 when the plan must not be
   * built at all (e.g. the inventory is older than allowed). Targets absent from the answer are refused.
   */
  readPlatform?(
    targets: readonly { type: TargetType; id: string }[],
    params: P,
    now: Date,
  ): Promise<Map<string, PlatformRead>>;
  /**
   * The flags, each in the environment it is changed in, whose signals count against a CR of this operation (an SDK
   * error report names a flag and its token's environment, not a CR): `flag.rollout` and `flag.update` name the flag
   * they change and its environment. A CR whose operation names flags is scoped to their environments: a signal that
   * names another environment does not count against it, not even through a tenant (`signalConcerns`, ADR 0007).
   */
  signalFlags?(params: P): FlagInEnvironment[];
}

/** A flag in one environment: what a flag operation changes, and so which signals concern its CR. */
export interface FlagInEnvironment {
  flag: string;
  environment: string;
}

/** A selector as given in a CR: resolves to targets of the operation's type when the plan is built. */
export interface TargetSelector {
  tier?: TargetTier;
  region?: string;
  appKey?: string;
  attributes?: Record<string, string | number | boolean>;
}

/** Looks targets of one type up in the inventory, in bulk (never one query per target). */
export interface TargetResolver {
  readonly type: TargetType;
  /** Found ids map to their target; unknown ids are absent (and get a reason from `explainUnknown`). */
  resolveIds(manager: EntityManager, ids: readonly string[]): Promise<Map<string, ResolvedTarget>>;
  resolveSelector(manager: EntityManager, selector: TargetSelector): Promise<ResolvedTarget[]>;
  /** Why an id is unknown, e.g. "acme is a tenant id, not an installation id (<tenantId>/<appKey>)". */
  explainUnknown(manager: EntityManager, ids: readonly string[]): Promise<Map<string, string>>;
  /** Active tenants in the inventory: the denominator of the blast-radius share. Tenant resolvers only. */
  countActiveTenants?(manager: EntityManager): Promise<number>;
}

/** What the engine hands apply/undo: the contract's context plus a place to report the snapshot taken. */
export interface EngineExecutionContext<P> extends ExecutionContext<P> {
  result: { snapshotId?: string; snapshotHash?: string };
  /** The CR's approved plan hash and its approvers (for the purge's erasure receipt); read on demand, in `tx`. */
  approvalRecord(): Promise<{ planHash: string | null; approvers: string[] }>;
}
