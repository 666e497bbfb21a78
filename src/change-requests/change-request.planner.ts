import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { canonicalJson, sha256Hex } from '../common/canonical-json';
import { ErrorDetail, unprocessable } from '../common/errors';
import { OperationRegistry } from '../operations/operation.registry';
import {
  Operation,
  PlatformRead,
  ResolvedTarget,
  TARGET_TYPES,
  TargetInspection,
  TargetSelector,
  targetRef,
} from '../operations/operation.types';
import { PoliciesService } from '../policies/policies.service';
import { validateHaltPolicy } from './domain/halt-policy';
import { validateWaveSettings } from './domain/waves.planner';
import { approvalRequirement, ApprovalRequirement } from './domain/approval-policy';
import { buildPlan, Plan } from './plan.builder';

export const MAX_TARGETS = 50_000;

/** What a plan is built from: the CR body on create, the stored request merged with the patch on edit. */
export interface PlanRequest {
  operation: string;
  params?: unknown;
  targets?: unknown;
  selector?: unknown;
  waves?: unknown;
  haltPolicy?: unknown;
}

export interface BuiltPlan {
  op: Operation<unknown>;
  plan: Plan;
  planHash: string;
  /** The plan as canonical JSON: stored as is, hashed as is. */
  planJson: string;
  requirement: ApprovalRequirement;
  environment: string | null;
  expiry: { pendingTtlSeconds: number; startWindowSeconds: number };
  /** The request to keep for rebuilding on edit (explicit targets live in the plan, not here). */
  stored: {
    params: Record<string, unknown>;
    selector?: Record<string, unknown>;
    waves: Plan['waveSettings'];
    haltPolicy: Record<string, unknown>;
  };
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** The target with what the operation's inspection found about it (its plan `detail`). */
const withDetail = (t: ResolvedTarget, seen: TargetInspection): ResolvedTarget => {
  const detail = seen.detail.get(t.id);
  return detail ? { ...t, detail: { ...t.detail, ...detail } } : t;
};

// The first kind found names the error code; the details list every offending target of every kind.
const CODE_ORDER = ['WRONG_TARGET_TYPE', 'UNKNOWN_TARGET', 'DUPLICATE_TARGET', 'INELIGIBLE_TARGET'] as const;
type Problem = (typeof CODE_ORDER)[number];

/**
 * Resolves a CR's targets against the inventory and builds its plan, refusing (422) every target of the wrong
 * type, unknown, listed twice or ineligible, all named in one answer.
 */
@Injectable()
export class ChangeRequestPlanner {
  constructor(
    private readonly registry: OperationRegistry,
    private readonly policies: PoliciesService,
  ) {}

  /**
   * Provider operations: reads the targets' states from the platform (`Operation.readPlatform`) BEFORE the
   * transaction that builds the plan opens: on SQLite every transaction holds the single writer, and a network call
   * must not. `read` runs a short read of its own (a selector is resolved with it). Undefined for other operations.
   */
  async readPlatform(
    req: PlanRequest,
    now: Date,
    read: <T>(fn: (m: EntityManager) => Promise<T>) => Promise<T>,
  ): Promise<Map<string, PlatformRead> | undefined> {
    const op = this.registry.get(req.operation);
    if (!op.readPlatform) return undefined;
    const rawParams = req.params ?? {};
    if (!isObj(rawParams)) return undefined; // build() names the field
    const params = op.parseParams(rawParams);
    let refs: { type: typeof op.targetType; id: string }[] = [];
    if (Array.isArray(req.targets)) {
      const ids = new Set<string>();
      for (const t of req.targets.slice(0, MAX_TARGETS) as unknown[])
        if (isObj(t) && t.type === op.targetType && typeof t.id === 'string' && t.id.length > 0)
          ids.add(t.id);
      refs = [...ids].map((id) => ({ type: op.targetType, id }));
    } else if (isObj(req.selector)) {
      const resolver = this.registry.resolver(op.targetType);
      const selector = this.parseSelector(req.selector);
      if (!resolver) throw this.noInventory(op);
      const found = await read((m) => resolver.resolveSelector(m, selector));
      refs = found.map((t) => ({ type: op.targetType, id: t.id }));
    }
    return op.readPlatform(refs, params, now);
  }

  async build(
    m: EntityManager,
    req: PlanRequest,
    now: Date,
    platform?: Map<string, PlatformRead>,
  ): Promise<BuiltPlan> {
    const op = this.registry.get(req.operation);
    const rawParams = req.params ?? {};
    if (!isObj(rawParams)) {
      throw unprocessable('CHANGE_REQUEST.INVALID_PARAMS', 'params: must be an object', [
        { field: 'params', reason: 'must be an object' },
      ]);
    }
    const params = op.parseParams(rawParams);
    const waves = validateWaveSettings(req.waves, 'waves');
    const haltPolicy = validateHaltPolicy(req.haltPolicy, 'haltPolicy');
    const hasTargets = req.targets !== undefined && req.targets !== null;
    const hasSelector = req.selector !== undefined && req.selector !== null;
    if (hasTargets === hasSelector) {
      throw unprocessable(
        'CHANGE_REQUEST.TARGETS_REQUIRED',
        'Give either targets or a selector (exactly one)',
        [
          {
            field: hasTargets ? 'selector' : 'targets',
            reason: hasTargets ? 'give targets or a selector, not both' : 'give targets or a selector',
          },
        ],
      );
    }
    const resolver = this.registry.resolver(op.targetType);
    let targets: ResolvedTarget[];
    let selector: TargetSelector | null = null;
    let excluded = 0;
    const overlay = (t: ResolvedTarget): ResolvedTarget => withPlatform(op, t, platform);
    if (hasTargets) {
      targets = await this.resolveList(m, op, req.targets, now, params, overlay);
    } else {
      selector = this.parseSelector(req.selector);
      if (!resolver) throw this.noInventory(op);
      const found = (await resolver.resolveSelector(m, selector)).map(overlay);
      targets = found.filter((t) => op.checkEligible(t, { now, params }) === null);
      if (op.inspectTargets && targets.length > 0) {
        const seen = await op.inspectTargets(m, { targets, unresolved: [] }, { now, params });
        // A selected target the operation refuses is excluded, like one that is not eligible.
        targets = targets.filter((t) => !seen.refused?.has(t.id)).map((t) => withDetail(t, seen));
      }
      excluded = found.length - targets.length;
      if (targets.length === 0) {
        throw unprocessable(
          'CHANGE_REQUEST.NO_TARGETS',
          `The selector matches no ${op.targetType} that ${op.name} can act on` +
            (excluded ? ` (${excluded} matched but are not eligible)` : ''),
          [{ field: 'selector', reason: 'matches no eligible target' }],
        );
      }
    }
    const tenantResolver = this.registry.resolver('tenant');
    const activeTenants = tenantResolver?.countActiveTenants ? await tenantResolver.countActiveTenants(m) : 0;
    const plan = buildPlan({
      operation: op,
      params,
      targets,
      selector,
      excludedBySelector: excluded,
      waves,
      haltPolicy,
      activeTenants,
      now,
    });
    const environment = isObj(params) && typeof params.environment === 'string' ? params.environment : null;
    const policy = await this.policies.effective(m, op.name, environment);
    const requirement = approvalRequirement({
      risk: op.risk,
      targetCount: plan.summary.tenantCount,
      totalActiveTenants: activeTenants,
      policy: policy.approval,
    });
    // = planHash(plan) from the domain, computed once over the bytes that are stored (a spec checks they agree).
    const planJson = canonicalJson(plan);
    return {
      op,
      plan,
      planHash: sha256Hex(planJson),
      planJson,
      requirement,
      environment,
      expiry: policy.expiry,
      stored: {
        params: rawParams,
        ...(selector ? { selector: selector as Record<string, unknown> } : {}),
        waves,
        haltPolicy: isObj(req.haltPolicy) ? req.haltPolicy : {},
      },
    };
  }

  private async resolveList(
    m: EntityManager,
    op: Operation<unknown>,
    raw: unknown,
    now: Date,
    params: unknown,
    overlay: (t: ResolvedTarget) => ResolvedTarget,
  ): Promise<ResolvedTarget[]> {
    if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_TARGETS) {
      throw unprocessable(
        'CHANGE_REQUEST.TARGETS_REQUIRED',
        `targets: must be a list of 1 to ${MAX_TARGETS} targets`,
        [{ field: 'targets', reason: `must be a list of 1 to ${MAX_TARGETS} targets` }],
      );
    }
    const shape: ErrorDetail[] = [];
    const refs: { type: string; id: string }[] = [];
    raw.forEach((t: unknown, i) => {
      if (
        !isObj(t) ||
        typeof t.type !== 'string' ||
        typeof t.id !== 'string' ||
        t.id.length === 0 ||
        t.id.length > 300
      ) {
        shape.push({ field: `targets[${i}]`, reason: 'must be {type, id} with a non-empty id' });
      } else if (!(TARGET_TYPES as readonly string[]).includes(t.type)) {
        shape.push({ field: `targets[${i}].type`, reason: `must be one of ${TARGET_TYPES.join(', ')}` });
      } else if (Object.keys(t).some((k) => k !== 'type' && k !== 'id')) {
        shape.push({ field: `targets[${i}]`, reason: 'unknown field; a target is {type, id}' });
      } else refs.push({ type: t.type, id: t.id });
    });
    if (shape.length > 0)
      throw unprocessable(
        'VALIDATION.FAILED',
        `Invalid targets: ${shape.length} problem(s)`,
        shape.slice(0, 1000),
      );

    const problems: { kind: Problem; target: string; reason: string }[] = [];
    const seen = new Set<string>();
    const ids: string[] = [];
    for (const r of refs) {
      const ref = targetRef(r);
      if (seen.has(ref)) {
        problems.push({ kind: 'DUPLICATE_TARGET', target: ref, reason: 'listed more than once' });
        continue;
      }
      seen.add(ref);
      if (r.type !== op.targetType) {
        const hint =
          r.type === 'tenant' && op.targetType === 'installation'
            ? ` (did you mean installation:${r.id}/<appKey>?)`
            : '';
        problems.push({
          kind: 'WRONG_TARGET_TYPE',
          target: ref,
          reason: `wrong target type: ${op.name} acts on ${op.targetType} targets, and this is a ${r.type}${hint}`,
        });
      } else ids.push(r.id);
    }
    const resolver = this.registry.resolver(op.targetType);
    const planned = new Map<string, ResolvedTarget>();
    if (ids.length > 0) {
      if (!resolver) throw this.noInventory(op);
      const found = await resolver.resolveIds(m, ids);
      let unresolved = ids.filter((id) => !found.has(id));
      const ineligible: typeof problems = [];
      const judge = (t: ResolvedTarget) => {
        const reason = op.checkEligible(t, { now, params });
        if (reason)
          ineligible.push({
            kind: 'INELIGIBLE_TARGET',
            target: targetRef(t),
            reason: `not eligible for ${op.name}: ${reason}`,
          });
        else planned.set(t.id, t);
      };
      for (const id of ids) {
        const t = found.get(id);
        if (t) judge(overlay(t));
      }
      let why = new Map<string, string>();
      if (op.inspectTargets) {
        const seen = await op.inspectTargets(
          m,
          { targets: [...planned.values()], unresolved },
          { now, params },
        );
        for (const id of unresolved) {
          const t = seen.resolved?.get(id);
          if (t) judge(t);
        }
        // A refused id is known to the operation (e.g. a purged tenant whose rows are gone): ineligible, not unknown.
        const asked = new Set(unresolved);
        unresolved = unresolved.filter((id) => !seen.resolved?.has(id) && !seen.refused?.has(id));
        for (const [id, reason] of seen.refused ?? []) {
          if (!planned.delete(id) && !asked.has(id)) continue;
          ineligible.push({
            kind: 'INELIGIBLE_TARGET',
            target: `${op.targetType}:${id}`,
            reason: `not eligible for ${op.name}: ${reason}`,
          });
        }
        for (const [id, t] of planned) planned.set(id, withDetail(t, seen));
        why = new Map(seen.unknown ?? []);
      }
      const ask = unresolved.filter((id) => !why.has(id));
      if (ask.length > 0) for (const [id, r] of await resolver.explainUnknown(m, ask)) why.set(id, r);
      for (const id of unresolved) {
        problems.push({
          kind: 'UNKNOWN_TARGET',
          target: `${op.targetType}:${id}`,
          reason: why.get(id) ?? 'not in the inventory',
        });
      }
      problems.push(...ineligible);
    }
    if (problems.length > 0) {
      const kind = CODE_ORDER.find((k) => problems.some((p) => p.kind === k)) as Problem;
      const n = new Set(problems.map((p) => p.target)).size;
      throw unprocessable(
        `CHANGE_REQUEST.${kind}`,
        `${n} of ${refs.length} target(s) cannot be part of this change request; see details. Nothing was created.`,
        problems.map((p) => ({ target: p.target, reason: p.reason })),
      );
    }
    // In the order listed.
    return ids.map((id) => planned.get(id)).filter((t): t is ResolvedTarget => t !== undefined);
  }

  parseSelector(raw: unknown): TargetSelector {
    const details: ErrorDetail[] = [];
    if (!isObj(raw))
      throw unprocessable('CHANGE_REQUEST.INVALID_SELECTOR', 'selector: must be an object', [
        { field: 'selector', reason: 'must be an object' },
      ]);
    const out: TargetSelector = {};
    for (const [k, v] of Object.entries(raw)) {
      if (k === 'tier') {
        if (v === 'internal' || v === 'standard' || v === 'key') out.tier = v;
        else details.push({ field: 'selector.tier', reason: 'must be internal, standard or key' });
      } else if (k === 'region' || k === 'appKey') {
        if (typeof v === 'string' && v.length > 0 && v.length <= 64) out[k] = v;
        else details.push({ field: `selector.${k}`, reason: 'must be a non-empty string' });
      } else if (k === 'attributes') {
        if (isObj(v) && Object.values(v).every((x) => ['string', 'number', 'boolean'].includes(typeof x))) {
          out.attributes = v as Record<string, string | number | boolean>;
        } else
          details.push({
            field: 'selector.attributes',
            reason: 'must be an object of string, number or boolean values',
          });
      } else
        details.push({
          field: `selector.${k}`,
          reason: 'unknown field; expected tier, region, appKey, attributes',
        });
    }
    if (details.length > 0)
      throw unprocessable('CHANGE_REQUEST.INVALID_SELECTOR', 'Invalid selector', details);
    return out;
  }

  private noInventory(op: Operation<unknown>) {
    return unprocessable(
      'CHANGE_REQUEST.NO_INVENTORY',
      `No ${op.targetType} inventory is available to resolve the targets of ${op.name}`,
      [{ field: 'operation', reason: `${op.targetType} targets cannot be resolved yet` }],
    );
  }
}

/**
 * A provider operation's target as the platform described it: the plan shows (and the executor compares) the
 * platform's state, not the inventory's copy, and the platform's answer as the target's `detail` (the plan's one
 * place for facts read while planning). A target the platform was not asked about (the inventory changed between
 * the read and the plan) is left without it, and the operation refuses it.
 */
function withPlatform(
  op: Operation<unknown>,
  t: ResolvedTarget,
  platform: Map<string, PlatformRead> | undefined,
): ResolvedTarget {
  if (!op.readPlatform) return t;
  const s = platform?.get(t.id);
  if (!s) return t;
  return { ...t, state: s.state ?? t.state, detail: { ...t.detail, ...s.detail } };
}
