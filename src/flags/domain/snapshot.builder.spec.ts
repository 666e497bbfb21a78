import { Strategy } from './flag.model';
import {
  buildClientFeatures,
  configHash,
  serveFeature,
  serveStrategy,
  SnapshotFlag,
  strongEtag,
} from './snapshot.builder';

const strategy = (over: Partial<Strategy>): Strategy => ({
  id: 'id',
  name: 'default',
  parameters: {},
  constraints: [],
  segments: [],
  variants: [],
  ...over,
});

const flag = (key: string, over: Partial<SnapshotFlag> = {}): SnapshotFlag => ({
  key,
  type: 'release',
  description: null,
  impressionData: false,
  dependencies: [],
  config: { enabled: true, strategies: [strategy({})], variants: [] },
  ...over,
});

describe('snapshot builder', () => {
  it('projects tenantWithId onto default + a tenantId IN constraint, ahead of its own constraints', () => {
    const own = { contextName: 'plan', operator: 'IN' as const, values: ['pro'] };
    expect(
      serveStrategy(
        strategy({
          id: 't',
          name: 'tenantWithId',
          parameters: { tenantIds: 'acme,globex,' },
          constraints: [own],
        }),
        3,
      ),
    ).toEqual({
      name: 'default',
      id: 't',
      sortOrder: 3,
      parameters: {},
      constraints: [{ contextName: 'tenantId', operator: 'IN', values: ['acme', 'globex'] }, own],
      segments: [],
      variants: [],
    });
  });

  it('serves Unleash strategies as they are, with their position as sortOrder and the title when set', () => {
    const s = strategy({ id: 'r', name: 'flexibleRollout', title: 'ten', parameters: { rollout: '10' } });
    expect(serveStrategy(s, 1)).toEqual({
      name: 'flexibleRollout',
      id: 'r',
      title: 'ten',
      sortOrder: 1,
      parameters: { rollout: '10' },
      constraints: [],
      segments: [],
      variants: [],
    });
  });

  it('leaves disabled strategies out; a flag whose strategies are all disabled is off, not on for everyone', () => {
    const mixed = serveFeature(
      flag('a', {
        config: {
          enabled: true,
          strategies: [strategy({ id: 'x', disabled: true }), strategy({ id: 'y' })],
          variants: [],
        },
      }),
    );
    expect(mixed.enabled).toBe(true);
    expect(mixed.strategies.map((s) => [s.id, s.sortOrder])).toEqual([['y', 0]]);
    const allOff = serveFeature(
      flag('b', { config: { enabled: true, strategies: [strategy({ disabled: true })], variants: [] } }),
    );
    expect(allOff).toMatchObject({ enabled: false, strategies: [] });
    // Never configured in the environment: served, and off.
    expect(serveFeature(flag('c', { config: undefined }))).toMatchObject({ enabled: false, strategies: [] });
  });

  it('adds dependencies only when there are some, and always project "default" and stale false', () => {
    expect(serveFeature(flag('a'))).not.toHaveProperty('dependencies');
    expect(serveFeature(flag('b', { dependencies: [{ feature: 'a', enabled: false }] }))).toMatchObject({
      dependencies: [{ feature: 'a', enabled: false }],
      project: 'default',
      stale: false,
    });
  });

  it('sorts flags by key and serves only the segments in use, sorted by id', () => {
    const body = buildClientFeatures(
      'production',
      [
        flag('zeta', { config: { enabled: true, strategies: [strategy({ segments: [7] })], variants: [] } }),
        flag('alpha', {
          config: {
            enabled: true,
            strategies: [strategy({ segments: [3, 7], disabled: true })],
            variants: [],
          },
        }),
        flag('mid', { config: { enabled: true, strategies: [strategy({ segments: [2] })], variants: [] } }),
      ],
      [
        { id: 7, name: 'seven', constraints: [] },
        { id: 3, name: 'three (only on a disabled strategy)', constraints: [] },
        { id: 2, name: 'two', constraints: [] },
        { id: 9, name: 'unused', constraints: [] },
      ],
    );
    expect(body.version).toBe(2);
    expect(body.query).toEqual({ environment: 'production', inlineSegmentConstraints: false });
    expect(body.features.map((f) => f.name)).toEqual(['alpha', 'mid', 'zeta']);
    expect(body.segments.map((s) => s.id)).toEqual([2, 7]);
  });

  it('gives the same bytes and ETag for the same input, whatever the input order', () => {
    const a = [flag('b'), flag('a')];
    const bytes = (fs: SnapshotFlag[]) => JSON.stringify(buildClientFeatures('dev', fs, []));
    expect(bytes(a)).toBe(bytes([...a].reverse()));
    expect(strongEtag(bytes(a))).toBe(strongEtag(Buffer.from(bytes([...a].reverse()))));
    expect(strongEtag(bytes(a))).toMatch(/^"[0-9a-f]{32}"$/);
    expect(strongEtag(bytes(a))).not.toBe(strongEtag(bytes([flag('a')])));
  });

  it('hashes a configuration canonically (key order does not matter)', () => {
    expect(configHash({ enabled: true, strategies: [], variants: [] })).toBe(
      configHash({ variants: [], strategies: [], enabled: true } as never),
    );
    expect(configHash({ enabled: true, strategies: [], variants: [] })).not.toBe(
      configHash({ enabled: false, strategies: [], variants: [] }),
    );
  });
});
