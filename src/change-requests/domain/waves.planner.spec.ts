import { DomainError } from '../../common/errors';
import {
  DEFAULT_BAKE_SECONDS,
  OrderableTarget,
  TargetTier,
  assignWaves,
  buildWaves,
  orderTargets,
  planWaves,
  validateWaveSettings,
} from './waves.planner';

function detailsOf(fn: () => unknown): { code: string; fields: (string | undefined)[] } {
  try {
    fn();
  } catch (e) {
    if (e instanceof DomainError) return { code: e.code, fields: (e.details ?? []).map((d) => d.field) };
    throw e;
  }
  throw new Error('expected a DomainError');
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('planWaves', () => {
  it('defaults to 1, 2, then 4x, the last wave holding the rest: 1000 -> 1,2,8,32,128,512,317', () => {
    expect(planWaves(1000)).toEqual([1, 2, 8, 32, 128, 512, 317]);
  });

  it('handles the smallest counts', () => {
    expect(planWaves(0)).toEqual([]);
    expect(planWaves(1)).toEqual([1]);
    expect(planWaves(2)).toEqual([1, 1]);
    expect(planWaves(3)).toEqual([1, 2]);
    expect(planWaves(11)).toEqual([1, 2, 8]);
    expect(planWaves(12)).toEqual([1, 2, 8, 1]);
  });

  it('always covers every target with non-empty waves, for any count', () => {
    for (let n = 1; n <= 3000; n += 7) {
      const waves = planWaves(n);
      expect(sum(waves)).toBe(n);
      expect(waves.every((w) => w >= 1)).toBe(true);
    }
  });

  it('uses explicit sizes in order and puts the rest in one final wave', () => {
    expect(planWaves(100, { sizes: [1, 5, 20] })).toEqual([1, 5, 20, 74]);
  });

  it('cuts explicit sizes that go beyond the count', () => {
    expect(planWaves(3, { sizes: [1, 5, 20] })).toEqual([1, 2]);
    expect(planWaves(6, { sizes: [1, 5, 20] })).toEqual([1, 5]);
  });

  it('reads percentages as cumulative: 1,5,25,100 of 1000 -> 10, 40, 200, 750', () => {
    expect(planWaves(1000, { percentages: [1, 5, 25, 100] })).toEqual([10, 40, 200, 750]);
  });

  it('rounds percentages up and never yields an empty wave', () => {
    expect(planWaves(10, { percentages: [1, 5, 25, 100] })).toEqual([1, 1, 1, 7]);
    expect(planWaves(2, { percentages: [1, 5, 25, 100] })).toEqual([1, 1]);
    expect(planWaves(1, { percentages: [50, 100] })).toEqual([1]);
  });

  it('puts the rest in a final wave when the percentages stop below 100', () => {
    expect(planWaves(200, { percentages: [1, 10, 50] })).toEqual([2, 18, 80, 100]);
  });

  it('is not thrown off by floating-point noise', () => {
    // 7 % of 100 is exactly 7 targets, not 8.
    expect(planWaves(100, { percentages: [7, 100] })).toEqual([7, 93]);
    expect(planWaves(1000, { percentages: [33.3, 100] })).toEqual([333, 667]);
  });

  it('refuses bad sizes, naming each offending entry', () => {
    expect(detailsOf(() => planWaves(10, { sizes: [1, 0, 2.5, -1] }))).toEqual({
      code: 'ROLLOUT.INVALID_WAVES',
      fields: ['waves.sizes[1]', 'waves.sizes[2]', 'waves.sizes[3]'],
    });
    expect(detailsOf(() => planWaves(10, { sizes: [] })).fields).toEqual(['waves.sizes']);
  });

  it('refuses percentages out of range or not ascending', () => {
    expect(detailsOf(() => planWaves(10, { percentages: [0, 5, 5, 101, 3] })).fields).toEqual([
      'waves.percentages[0]',
      'waves.percentages[2]',
      'waves.percentages[3]',
      'waves.percentages[4]',
    ]);
  });

  it('refuses sizes and percentages together', () => {
    expect(detailsOf(() => planWaves(10, { sizes: [1], percentages: [100] })).fields).toEqual(['waves']);
  });
});

describe('orderTargets', () => {
  const t = (id: string, tenantId: string, tier: TargetTier): OrderableTarget => ({ id, tenantId, tier });

  it('puts the internal tier first and the key tier last, otherwise by tenant id then target id', () => {
    const ordered = orderTargets([
      t('zeta/jira', 'zeta', 'key'),
      t('beta/jira', 'beta', 'standard'),
      t('acme/jira', 'acme', 'standard'),
      t('acme/insight', 'acme', 'standard'),
      t('zz-int/insight', 'zz-int', 'internal'),
      t('alpha/insight', 'alpha', 'key'),
      t('int/insight', 'int', 'internal'),
    ]);
    expect(ordered.map((x) => x.id)).toEqual([
      'int/insight',
      'zz-int/insight',
      'acme/insight',
      'acme/jira',
      'beta/jira',
      'alpha/insight',
      'zeta/jira',
    ]);
  });

  it('compares by code unit, not by locale, and does not mutate its input', () => {
    const input = [t('b', 'b', 'standard'), t('B', 'B', 'standard'), t('a', 'a', 'standard')];
    expect(orderTargets(input).map((x) => x.id)).toEqual(['B', 'a', 'b']);
    expect(input.map((x) => x.id)).toEqual(['b', 'B', 'a']);
  });

  it('puts an unknown tier last, with the key tier', () => {
    const odd = { id: 'x', tenantId: 'a', tier: 'gold' as TargetTier };
    expect(orderTargets([odd, t('y', 'y', 'standard')]).map((x) => x.id)).toEqual(['y', 'x']);
  });
});

describe('buildWaves and assignWaves', () => {
  it('draws the first waves from the internal tier and leaves key customers for last', () => {
    const targets: OrderableTarget[] = [];
    for (let i = 0; i < 1000; i++) {
      const tier: TargetTier = i < 5 ? 'internal' : i >= 990 ? 'key' : 'standard';
      const tenantId = `t${String(999 - i).padStart(4, '0')}`;
      targets.push({ id: `${tenantId}/insight`, tenantId, tier });
    }
    const waves = buildWaves(targets);
    expect(waves.map((w) => w.targets.length)).toEqual([1, 2, 8, 32, 128, 512, 317]);
    expect(waves.map((w) => w.index)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect([...waves[0].targets, ...waves[1].targets].every((x) => x.tier === 'internal')).toBe(true);
    expect(waves[6].targets.slice(-10).every((x) => x.tier === 'key')).toBe(true);
  });

  it('refuses sizes that do not match the targets', () => {
    expect(() => assignWaves(['a', 'b'], [1])).toThrow(RangeError);
  });
});

describe('validateWaveSettings', () => {
  it('defaults the bake time to 10 minutes', () => {
    expect(validateWaveSettings(undefined)).toEqual({ bakeSeconds: DEFAULT_BAKE_SECONDS });
    expect(validateWaveSettings({ percentages: [1, 5, 25, 100], bakeSeconds: 1 })).toEqual({
      percentages: [1, 5, 25, 100],
      bakeSeconds: 1,
    });
  });

  it('names every bad field, including unknown keys', () => {
    expect(
      detailsOf(() => validateWaveSettings({ sizes: [1, 'x'], bakeSeconds: -1, bake: 5 })).fields,
    ).toEqual(['waves.bake', 'waves.sizes[1]', 'waves.bakeSeconds']);
  });
});
