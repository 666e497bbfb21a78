import { applyDelta, compile, DISABLED_VARIANT, EMPTY_FEATURES_RESPONSE } from './index';
import type { ClientFeature, ClientFeaturesResponse } from './index';

function response(
  features: ClientFeature[],
  segments: ClientFeaturesResponse['segments'] = [],
): ClientFeaturesResponse {
  return { version: 2, features, segments, query: {} };
}

const flags = response(
  [
    { name: 'static.on', enabled: true, strategies: [{ name: 'default' }] },
    { name: 'no.strategies', enabled: true, strategies: [] },
    { name: 'off', enabled: false, strategies: [{ name: 'default' }] },
    {
      name: 'targeted',
      enabled: true,
      strategies: [
        {
          name: 'default',
          id: 's-1',
          constraints: [{ contextName: 'tenantId', operator: 'IN', values: ['acme'] }],
        },
        { name: 'userWithId', id: 's-2', parameters: { userIds: 'u1,u2' } },
      ],
    },
    {
      name: 'split',
      enabled: true,
      strategies: [
        { name: 'flexibleRollout', parameters: { rollout: '100', stickiness: 'default', groupId: 'split' } },
      ],
      variants: [
        {
          name: 'blue',
          weight: 500,
          payload: { type: 'string', value: 'b' },
          overrides: [{ contextName: 'userId', values: ['vip'] }],
        },
        { name: 'green', weight: 500 },
      ],
    },
    {
      name: 'partial',
      enabled: true,
      strategies: [
        { name: 'flexibleRollout', parameters: { rollout: '30', stickiness: 'userId', groupId: 'partial' } },
      ],
    },
    { name: 'malformed', enabled: true } as ClientFeature,
    { name: 'unknown.strategy', enabled: true, strategies: [{ name: 'myCustomStrategy' }] },
    {
      name: 'host',
      enabled: true,
      strategies: [{ name: 'applicationHostname', parameters: { hostNames: 'a, Build-01' } }],
    },
    { name: 'child', enabled: true, strategies: [], dependencies: [{ feature: 'targeted' }] },
    { name: 'segmented', enabled: true, strategies: [{ name: 'default', segments: [7] }] },
    {
      name: 'dated',
      enabled: true,
      strategies: [
        {
          name: 'default',
          constraints: [
            { contextName: 'currentTime', operator: 'DATE_AFTER', value: '2030-01-01T00:00:00Z' },
          ],
        },
      ],
    },
  ],
  [{ id: 7, constraints: [{ contextName: 'appName', operator: 'IN', values: ['web'] }] }],
);

describe('Evaluator', () => {
  const evaluator = compile(flags, { hostname: 'build-01', now: () => Date.parse('2031-01-01T00:00:00Z') });

  it('knows its flags', () => {
    expect(evaluator.has('static.on')).toBe(true);
    expect(evaluator.has('nope')).toBe(false);
    expect(evaluator.size).toBe(flags.features.length);
    expect(evaluator.flagNames[0]).toBe('static.on');
    expect(evaluator.getFlag('off')?.enabled).toBe(false);
  });

  it('returns the fallback for unknown flags only', () => {
    expect(evaluator.isEnabled('nope')).toBe(false);
    expect(evaluator.isEnabled('nope', {}, true)).toBe(true);
    expect(
      evaluator.isEnabled('nope', { userId: 'x' }, (name, ctx) => name === 'nope' && ctx.userId === 'x'),
    ).toBe(true);
    expect(evaluator.isEnabled('off', {}, true)).toBe(false);
  });

  it('gives the disabled variant, or the fallback variant with feature_enabled set', () => {
    expect(evaluator.getVariant('nope')).toBe(DISABLED_VARIANT);
    expect(evaluator.getVariant('static.on')).toEqual({
      name: 'disabled',
      enabled: false,
      feature_enabled: true,
    });
    const fallback = { name: 'fallback', enabled: true, payload: { type: 'string', value: 'f' } };
    expect(evaluator.getVariant('nope', {}, fallback)).toEqual({ ...fallback, feature_enabled: false });
    expect(evaluator.getVariant('static.on', {}, fallback)).toEqual({ ...fallback, feature_enabled: true });
  });

  it('returns precomputed, frozen variant results (no allocation per call)', () => {
    const a = evaluator.getVariant('split', { userId: 'u-1' });
    const b = evaluator.getVariant('split', { userId: 'u-1' });
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
    expect(evaluator.getVariant('split', { userId: 'vip' }).name).toBe('blue');
  });

  it('explains each outcome with an OpenFeature reason and the matching strategy', () => {
    expect(evaluator.evaluate('nope')).toMatchObject({
      enabled: false,
      reason: 'ERROR',
      errorCode: 'FLAG_NOT_FOUND',
    });
    expect(evaluator.evaluate('off')).toMatchObject({
      enabled: false,
      reason: 'DISABLED',
      detail: 'FLAG_DISABLED',
    });
    expect(evaluator.evaluate('static.on')).toMatchObject({
      enabled: true,
      reason: 'STATIC',
      strategy: { index: 0, name: 'default' },
    });
    expect(evaluator.evaluate('no.strategies')).toMatchObject({
      enabled: true,
      reason: 'STATIC',
      detail: 'NO_STRATEGIES',
    });
    expect(evaluator.evaluate('targeted', { userId: 'u2' })).toMatchObject({
      enabled: true,
      reason: 'TARGETING_MATCH',
      strategy: { index: 1, name: 'userWithId', id: 's-2' },
    });
    expect(evaluator.evaluate('targeted', { userId: 'u3' })).toMatchObject({
      enabled: false,
      reason: 'DEFAULT',
      detail: 'NO_STRATEGY_MATCHED',
    });
    expect(evaluator.evaluate('split', { userId: 'u-1' })).toMatchObject({
      reason: 'SPLIT',
      variantSource: 'feature',
    });
    expect(evaluator.evaluate('split', { userId: 'vip' })).toMatchObject({
      reason: 'TARGETING_MATCH',
      variant: { name: 'blue', payload: { type: 'string', value: 'b' } },
    });
    expect(evaluator.evaluate('child', { userId: 'u3' })).toMatchObject({
      enabled: false,
      detail: 'DEPENDENCY_NOT_MET',
    });
    expect(evaluator.evaluate('child', { userId: 'u1' })).toMatchObject({ enabled: true });
    expect(evaluator.evaluateAll({}).map((e) => e.flag)).toEqual(evaluator.flagNames);
  });

  it('splits a partial rollout by stickiness, deterministically', () => {
    let on = 0;
    for (let k = 0; k < 2000; k++) {
      const ctx = { userId: `user-${k}` };
      const first = evaluator.isEnabled('partial', ctx);
      expect(evaluator.isEnabled('partial', ctx)).toBe(first);
      if (first) on++;
    }
    expect(on / 2000).toBeGreaterThan(0.25);
    expect(on / 2000).toBeLessThan(0.35);
    expect(evaluator.evaluate('partial', { userId: 'user-1' }).reason).toMatch(/SPLIT|DEFAULT/);
  });

  it('treats malformed flags, unknown strategies and missing segments as off', () => {
    expect(evaluator.isEnabled('malformed')).toBe(false);
    expect(evaluator.isEnabled('unknown.strategy')).toBe(false);
    expect(evaluator.isEnabled('segmented', { appName: 'web' })).toBe(true);
    expect(evaluator.isEnabled('segmented', { appName: 'api' })).toBe(false);
    const noSegments = compile(response(flags.features.filter((f) => f.name === 'segmented')));
    expect(noSegments.isEnabled('segmented', { appName: 'web' })).toBe(false);
  });

  it('uses the configured host name and clock', () => {
    expect(evaluator.isEnabled('host')).toBe(true);
    expect(compile(flags, { hostname: 'other' }).isEnabled('host')).toBe(false);
    expect(compile(flags).isEnabled('host')).toBe(false);
    expect(evaluator.isEnabled('dated')).toBe(true);
    expect(compile(flags, { now: () => Date.parse('2029-01-01T00:00:00Z') }).isEnabled('dated')).toBe(false);
  });

  it('uses the injected random source where Unleash is random', () => {
    const random = compile(
      response([
        {
          name: 'r',
          enabled: true,
          strategies: [{ name: 'gradualRolloutRandom', parameters: { percentage: '50' } }],
        },
      ]),
      { random: () => 0.7 },
    );
    expect(random.isEnabled('r')).toBe(false);
  });
});

describe('applyDelta', () => {
  it('hydrates, updates and removes flags and segments without touching its input', () => {
    const base = applyDelta(EMPTY_FEATURES_RESPONSE, {
      events: [
        {
          type: 'hydration',
          eventId: 1,
          features: [{ name: 'a', enabled: true, strategies: [] }],
          segments: [{ id: 1 }],
        },
      ],
    });
    const next = applyDelta(base, [
      { type: 'feature-updated', eventId: 2, feature: { name: 'b', enabled: true, strategies: [] } },
      { type: 'feature-removed', eventId: 3, featureName: 'a', project: 'default' },
      { type: 'segment-removed', eventId: 4, segmentId: 1 },
    ]);
    expect(base.features.map((f) => f.name)).toEqual(['a']);
    expect(next.features.map((f) => f.name)).toEqual(['b']);
    expect(next.segments).toEqual([]);
  });
});

describe('names that are Object.prototype keys', () => {
  const e = compile(
    response([
      {
        name: '__proto__',
        enabled: true,
        strategies: [{ name: 'userWithId', parameters: { userIds: '__proto__,constructor' } }],
      },
      {
        name: 'in',
        enabled: true,
        strategies: [
          { name: 'default', constraints: [{ contextName: 'plan', operator: 'IN', values: ['toString'] }] },
        ],
      },
    ]),
  );

  it('are ordinary flag names, user ids and IN values', () => {
    expect(e.isEnabled('__proto__', { userId: '__proto__' })).toBe(true);
    expect(e.isEnabled('__proto__', { userId: 'constructor' })).toBe(true);
    expect(e.isEnabled('__proto__', { userId: 'toString' })).toBe(false);
    expect(e.isEnabled('constructor', {}, true)).toBe(true);
    expect(e.isEnabled('hasOwnProperty')).toBe(false);
    expect(e.isEnabled('in', { properties: { plan: 'toString' } })).toBe(true);
    expect(e.isEnabled('in', { properties: { plan: 'valueOf' } })).toBe(false);
    expect(e.isEnabled('in', { properties: { plan: '__proto__' } })).toBe(false);
  });
});
