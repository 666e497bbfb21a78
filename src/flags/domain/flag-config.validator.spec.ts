import { FlagEnvironmentConfig } from './flag.model';
import {
  cidrValid,
  semverValid,
  validateConstraints,
  validateFlagEnvironment,
  ValidationContext,
} from './flag-config.validator';

const EMPTY: FlagEnvironmentConfig = { enabled: false, strategies: [], variants: [] };

function ctx(over: Partial<ValidationContext> = {}): ValidationContext {
  let n = 0;
  return { flagKey: 'checkout', segmentIds: new Set([1, 2]), newId: () => `s${++n}`, ...over };
}

const ok = (input: unknown, current = EMPTY, c = ctx()) => {
  const r = validateFlagEnvironment(input, current, c);
  if (!r.ok) throw new Error(`expected valid: ${JSON.stringify(r.errors)}`);
  return r.value;
};

const fields = (input: unknown, current = EMPTY, c = ctx()) => {
  const r = validateFlagEnvironment(input, current, c);
  if (r.ok) throw new Error('expected errors');
  return r.errors.map((e) => e.field);
};

describe('validateFlagEnvironment', () => {
  it('merges over the current configuration: omitted fields keep their value', () => {
    const current: FlagEnvironmentConfig = {
      enabled: true,
      strategies: [
        { id: 'keep', name: 'default', parameters: {}, constraints: [], segments: [], variants: [] },
      ],
      variants: [],
    };
    expect(ok({}, current)).toEqual(current);
    expect(ok({ enabled: false }, current)).toEqual({ ...current, enabled: false });
  });

  it('normalises strategies: ids, defaults for flexibleRollout, lists trimmed and joined', () => {
    const v = ok({
      enabled: true,
      strategies: [
        { name: 'flexibleRollout', parameters: { rollout: 25 } },
        { name: 'userWithId', parameters: { userIds: [' a', 'b ', ''] } },
        { name: 'tenantWithId', parameters: { tenantIds: 'acme, globex' }, segments: [2, 2] },
        { id: 'mine', name: 'default', title: 'everyone', disabled: true },
      ],
    });
    expect(v.strategies.map((s) => s.id)).toEqual(['s1', 's2', 's3', 'mine']);
    expect(v.strategies[0].parameters).toEqual({ rollout: '25', stickiness: 'default', groupId: 'checkout' });
    expect(v.strategies[1].parameters).toEqual({ userIds: 'a,b' });
    expect(v.strategies[2]).toMatchObject({ parameters: { tenantIds: 'acme,globex' }, segments: [2] });
    expect(v.strategies[3]).toMatchObject({ title: 'everyone', disabled: true });
  });

  it('keeps the id of the strategy at the same position when an edit omits it', () => {
    const previous = ok({ strategies: [{ name: 'default' }] }).strategies;
    const v = ok(
      { strategies: [{ name: 'flexibleRollout', parameters: { rollout: 10 } }] },
      EMPTY,
      ctx({ previous }),
    );
    expect(v.strategies[0].id).toBe(previous[0].id);
  });

  it('reports every problem at once, each with its path', () => {
    expect(
      fields({
        enabled: 'yes',
        colour: 'red',
        strategies: [
          { name: 'flexibleRollout', parameters: { rollout: 101, stickiness: 'no spaces' } },
          { name: 'gradualRolloutRandom' },
          { name: 'userWithId' },
          { name: 'remoteAddress', parameters: { IPs: '10.0.0.0/33' } },
          { name: 'default', parameters: { rollout: 5 }, segments: [9] },
          { id: 'has space', name: 'default' },
        ],
      }),
    ).toEqual(
      expect.arrayContaining([
        'colour',
        'enabled',
        'strategies[0].parameters.rollout',
        'strategies[0].parameters.stickiness',
        'strategies[1].name',
        'strategies[2].parameters.userIds',
        'strategies[3].parameters.IPs',
        'strategies[4].parameters.rollout',
        'strategies[4].segments[0]',
        'strategies[5].id',
      ]),
    );
  });

  it('refuses duplicate strategy ids', () => {
    expect(
      fields({
        strategies: [
          { id: 'x', name: 'default' },
          { id: 'x', name: 'default' },
        ],
      }),
    ).toEqual(['strategies[1].id']);
  });

  it('spreads what fix variants leave of 1000 over the variable ones, as Unleash does', () => {
    const v = ok({
      variants: [
        { name: 'a', weightType: 'fix', weight: 100 },
        { name: 'b' },
        { name: 'c' },
        { name: 'd', payload: { type: 'json', value: '{"x":1}' } },
      ],
    });
    expect(v.variants.map((x) => x.weight)).toEqual([100, 300, 300, 300]);
    const odd = ok({ variants: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] });
    expect(odd.variants.map((x) => x.weight)).toEqual([334, 333, 333]);
  });

  it('refuses variant weights that cannot add up, duplicate names and bad payloads', () => {
    expect(
      fields({
        variants: [
          { name: 'a', weightType: 'fix', weight: 600 },
          { name: 'b', weightType: 'fix', weight: 500 },
        ],
      }),
    ).toEqual(['variants']);
    expect(fields({ variants: [{ name: 'a', weightType: 'fix', weight: 999 }] })).toEqual(['variants']);
    expect(
      fields({
        variants: [
          { name: 'a', payload: { type: 'json', value: '{' } },
          { name: 'a' },
          { name: 'n', payload: { type: 'number', value: 'ten' } },
          { name: 'w', weightType: 'fix' },
        ],
      }),
    ).toEqual([
      'variants[0].payload.value',
      'variants[1].name',
      'variants[2].payload.value',
      'variants[3].weight',
    ]);
  });

  it('needs an object', () => {
    expect(fields([])).toEqual(['body']);
    expect(fields(null)).toEqual(['body']);
  });
});

describe('validateConstraints', () => {
  const check = (c: unknown) => {
    const errors: { field: string; reason: string }[] = [];
    const out = validateConstraints([c], 'c', errors);
    return { out, fields: errors.map((e) => e.field), reasons: errors.map((e) => e.reason) };
  };

  it('accepts every Unleash operator in its own shape', () => {
    for (const c of [
      { contextName: 'country', operator: 'IN', values: ['de'] },
      { contextName: 'country', operator: 'NOT_IN', values: ['de'], inverted: true },
      { contextName: 'email', operator: 'STR_ENDS_WITH', values: ['@acme.test'], caseInsensitive: true },
      { contextName: 'age', operator: 'NUM_GTE', value: '18' },
      { contextName: 'currentTime', operator: 'DATE_AFTER', value: '2026-01-01T00:00:00Z' },
      { contextName: 'appVersion', operator: 'SEMVER_LT', value: '2.0.0-beta.1' },
      { contextName: 'remoteAddress', operator: 'IN_CIDR', values: ['10.0.0.0/8', '::1'] },
      { contextName: 'path', operator: 'REGEX', value: '^/api/' },
    ]) {
      expect(check(c).fields).toEqual([]);
    }
  });

  it('names what is wrong with a constraint', () => {
    expect(check({ contextName: 'x', operator: 'LIKE', values: ['a'] }).fields).toEqual(['c[0].operator']);
    expect(check({ contextName: 'x', operator: 'IN', value: 'a' }).fields).toEqual(
      expect.arrayContaining(['c[0].value']),
    );
    expect(check({ contextName: 'x', operator: 'IN', values: [] }).fields).toEqual(['c[0].values']);
    expect(check({ contextName: 'x', operator: 'NUM_EQ', value: 'ten' }).fields).toEqual(['c[0].value']);
    expect(check({ contextName: 'x', operator: 'SEMVER_EQ', value: '1.2' }).reasons[0]).toMatch(
      /semantic version/,
    );
    expect(check({ contextName: 'x', operator: 'DATE_BEFORE', value: 'tomorrow' }).fields).toEqual([
      'c[0].value',
    ]);
    expect(check({ contextName: 'x', operator: 'REGEX', value: '(' }).fields).toEqual(['c[0].value']);
    expect(check({ contextName: 'x', operator: 'IN_CIDR', values: ['10.0.0.0/40'] }).fields).toEqual([
      'c[0].values[0]',
    ]);
    expect(check({ contextName: '1bad', operator: 'IN', values: ['a'] }).fields).toEqual([
      'c[0].contextName',
    ]);
    expect(check({ contextName: 'x', operator: 'IN', values: ['a'], inverted: 'yes' }).fields).toEqual([
      'c[0].inverted',
    ]);
  });
});

describe('semverValid and cidrValid', () => {
  it('follow semver 2.0.0 and IPv4/IPv6 CIDR', () => {
    expect(['1.0.0', '0.1.2-rc.1+build.5', '10.20.30'].every(semverValid)).toBe(true);
    expect(['1.0', '01.0.0', '1.0.0-', 'v1.0.0'].some(semverValid)).toBe(false);
    expect(['10.0.0.1', '10.0.0.0/8', '::1', 'fe80::/10', '0.0.0.0/0'].every(cidrValid)).toBe(true);
    expect(['10.0.0.0/33', '::/129', '10.0.0', '10.0.0.0/8/1', 'host', '10.0.0.0/x'].some(cidrValid)).toBe(
      false,
    );
  });
});
