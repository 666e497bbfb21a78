// Builds the plan a checker approves: pure, from resolved targets (STYLE.md habit 1). The plan holds no ids or
// timestamps minted at build time, so the same request against the same inventory gives the same planHash.
import { buildWaves, ValidWaveSettings } from './domain/waves.planner';
import type { HaltPolicy } from './domain/halt-policy';
import type {
  Operation,
  PlannedTarget,
  ResolvedTarget,
  TargetSelector,
  TargetType,
} from '../operations/operation.types';

export interface PlanWave {
  /** 1-based, as everywhere. */
  index: number;
  targets: PlannedTarget[];
}

export interface PlanSummary {
  targetCount: number;
  /** Distinct tenants touched (an installation counts its tenant): what the blast radius is measured in. */
  tenantCount: number;
  byTier: Record<string, number>;
  byRegion: Record<string, number>;
  byApp: Record<string, number>;
  irreversible: boolean;
  /** tenantCount / active tenants (0..1, 4 decimals); null when there are no active tenants. */
  shareOfTenants: number | null;
  activeTenants: number;
  waveSizes: number[];
  /** Targets a selector matched but the operation cannot act on (e.g. already deactivated); not in the plan. */
  excludedBySelector: number;
}

export interface Plan {
  operation: string;
  version: number;
  mode: string;
  risk: 'reversible' | 'irreversible';
  targetType: TargetType;
  description: string;
  reverseOperation: string | null;
  params: unknown;
  selector: TargetSelector | null;
  waveSettings: ValidWaveSettings;
  haltPolicy: HaltPolicy;
  summary: PlanSummary;
  waves: PlanWave[];
}

export interface BuildPlanInput<P> {
  operation: Operation<P>;
  params: P;
  targets: readonly ResolvedTarget[];
  selector: TargetSelector | null;
  excludedBySelector: number;
  waves: ValidWaveSettings;
  haltPolicy: HaltPolicy;
  activeTenants: number;
  now: Date;
}

const count = (into: Record<string, number>, key: string) => {
  into[key] = (into[key] ?? 0) + 1;
};

export function buildPlan<P>(input: BuildPlanInput<P>): Plan {
  const { operation: op, params, now } = input;
  const planned = input.targets.map((t) => {
    const { action, to } = op.describe(t, { now, params });
    const p: PlannedTarget = {
      type: t.type,
      id: t.id,
      tenantId: t.tenantId,
      name: t.name,
      tier: t.tier,
      region: t.region,
      state: t.state,
      action,
      to,
      // Only when given, so the plans (and hashes) of operations without detail stay as they were.
      ...(t.detail ? { detail: t.detail } : {}),
    };
    return p;
  });
  const spec = input.waves.sizes
    ? { sizes: input.waves.sizes }
    : input.waves.percentages
      ? { percentages: input.waves.percentages }
      : {};
  const waves = buildWaves(planned, spec);

  const byTier: Record<string, number> = { internal: 0, standard: 0, key: 0 };
  const byRegion: Record<string, number> = {};
  const byApp: Record<string, number> = {};
  const tenants = new Set<string>();
  for (const t of input.targets) {
    tenants.add(t.tenantId);
    count(byTier, t.tier);
    count(byRegion, t.region ?? '(none)');
    if (t.appKey) count(byApp, t.appKey);
    for (const a of t.apps ?? []) count(byApp, a);
  }
  const share =
    input.activeTenants > 0 ? Math.round((tenants.size / input.activeTenants) * 10_000) / 10_000 : null;
  return {
    operation: op.name,
    version: op.version,
    mode: op.mode,
    risk: op.risk,
    targetType: op.targetType,
    description: op.summary,
    reverseOperation: op.reverseOperation ?? null,
    params,
    selector: input.selector,
    waveSettings: input.waves,
    haltPolicy: input.haltPolicy,
    summary: {
      targetCount: planned.length,
      tenantCount: tenants.size,
      byTier,
      byRegion,
      byApp,
      irreversible: op.risk === 'irreversible',
      shareOfTenants: share,
      activeTenants: input.activeTenants,
      waveSizes: waves.map((w) => w.targets.length),
      excludedBySelector: input.excludedBySelector,
    },
    waves,
  };
}
