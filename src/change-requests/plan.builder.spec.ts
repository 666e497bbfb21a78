import { canonicalJson, sha256Hex } from '../common/canonical-json';
import { installationDeactivate, tenantPurge } from '../operations/builtin.operations';
import type { ResolvedTarget } from '../operations/operation.types';
import { DEFAULT_HALT_POLICY } from './domain/halt-policy';
import { planHash } from './domain/plan-hash';
import { buildPlan } from './plan.builder';

const NOW = new Date('2026-03-01T00:00:00.000Z');
const inst = (tenantId: string, tier: ResolvedTarget['tier'], region = 'eu'): ResolvedTarget => ({
  type: 'installation',
  id: `${tenantId}/insight`,
  tenantId,
  name: `${tenantId} / Insight`,
  tier,
  region,
  state: 'active',
  appKey: 'insight',
  tenant: { status: 'active', softDeletedAt: null, purgeAfter: null },
});

const build = (targets: ResolvedTarget[]) =>
  buildPlan({
    operation: installationDeactivate,
    params: {},
    targets,
    selector: null,
    excludedBySelector: 0,
    waves: { bakeSeconds: 600 },
    haltPolicy: { ...DEFAULT_HALT_POLICY },
    activeTenants: 40,
    now: NOW,
  });

describe('buildPlan', () => {
  const targets = [
    inst('k1', 'key'),
    inst('s2', 'standard', 'us'),
    inst('i9', 'internal'),
    inst('s1', 'standard'),
    inst('i1', 'internal'),
  ];

  it('orders internal first and key last, stable by id, in waves of 1, 2, then 4x', () => {
    const plan = build(targets);
    expect(plan.waves.map((w) => w.targets.map((t) => t.id))).toEqual([
      ['i1/insight'],
      ['i9/insight', 's1/insight'],
      ['s2/insight', 'k1/insight'],
    ]);
    expect(plan.waves[0].targets[0]).toEqual({
      type: 'installation',
      id: 'i1/insight',
      tenantId: 'i1',
      name: 'i1 / Insight',
      tier: 'internal',
      region: 'eu',
      state: 'active',
      action: 'deactivate',
      to: 'deactivated',
    });
  });

  it('summarises by tier, region and app, with the share of active tenants', () => {
    expect(build(targets).summary).toEqual({
      targetCount: 5,
      tenantCount: 5,
      byTier: { internal: 2, standard: 2, key: 1 },
      byRegion: { eu: 4, us: 1 },
      byApp: { insight: 5 },
      irreversible: false,
      shareOfTenants: 0.125,
      activeTenants: 40,
      waveSizes: [1, 2, 2],
      excludedBySelector: 0,
    });
  });

  it('is deterministic: the same inputs in any order hash the same, and the stored bytes hash to planHash()', () => {
    const a = build(targets);
    const b = build([...targets].reverse());
    expect(planHash(a)).toBe(planHash(b));
    expect(sha256Hex(canonicalJson(a))).toBe(planHash(a));
    expect(JSON.stringify(a)).not.toMatch(/\d{4}-\d{2}-\d{2}T/);
  });

  it('marks an irreversible operation', () => {
    const plan = buildPlan({
      operation: tenantPurge,
      params: {},
      targets: [{ ...inst('t', 'standard'), type: 'tenant', id: 't', state: 'soft_deleted' }],
      selector: null,
      excludedBySelector: 0,
      waves: { bakeSeconds: 600 },
      haltPolicy: { ...DEFAULT_HALT_POLICY },
      activeTenants: 0,
      now: NOW,
    });
    expect(plan).toMatchObject({
      mode: 'permanent_delete',
      risk: 'irreversible',
      summary: { irreversible: true, shareOfTenants: null },
    });
  });
});
