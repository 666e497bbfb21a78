import { ErrorAggregator } from './error-reports';
import { WavegateClient } from './client';
import { silentLogger } from './index';
import { MetricsAggregator } from './metrics';

describe('MetricsAggregator', () => {
  it('counts per flag and variant, takes buckets, restores a failed one', () => {
    let now = 1_000;
    const m = new MetricsAggregator(10, () => now);
    m.count('a', true);
    m.count('a', false);
    m.countVariant('b', true, 'blue');
    m.countVariant('b', true, 'blue');
    now = 2_000;
    const bucket = m.take()!;
    expect(bucket).toEqual({
      start: new Date(1_000).toISOString(),
      stop: new Date(2_000).toISOString(),
      toggles: { a: { yes: 1, no: 1, variants: {} }, b: { yes: 2, no: 0, variants: { blue: 2 } } },
    });
    expect(m.take()).toBeUndefined();
    m.count('a', true);
    m.restore(bucket);
    now = 3_000;
    expect(m.take()).toEqual({
      start: new Date(1_000).toISOString(),
      stop: new Date(3_000).toISOString(),
      toggles: { a: { yes: 2, no: 1, variants: {} }, b: { yes: 2, no: 0, variants: { blue: 2 } } },
    });
  });

  it('counts a variant result by identity and any other object or name of the same variant with it', () => {
    const m = new MetricsAggregator(10);
    const counter = m.counterFor('b')!;
    const blue = Object.freeze({ name: 'blue', enabled: true, feature_enabled: true });
    const red = Object.freeze({ name: 'red', enabled: true, feature_enabled: true });
    m.countVariantIn(counter, true, blue);
    m.countVariantIn(counter, true, blue);
    m.countVariantIn(counter, true, red);
    // A caller's fallback: a fresh, unfrozen object each time; counted under its name.
    m.countVariantIn(counter, false, { name: 'blue' });
    m.countVariant('b', true, 'blue');
    m.countVariant('b', true, '__proto__');
    const toggles = m.take()!.toggles;
    expect(toggles.b).toEqual({ yes: 5, no: 1, variants: { blue: 4, red: 1, ['__proto__']: 1 } });
    expect(Object.keys(toggles.b.variants)).toEqual(['blue', 'red', '__proto__']);
  });

  it('keeps at most maxFlags flags and 100 variants per flag', () => {
    const m = new MetricsAggregator(3);
    for (let i = 0; i < 1000; i++) m.count(`f${i}`, true);
    for (let i = 0; i < 1000; i++) m.countVariant('f0', true, `v${i}`);
    expect(m.size).toBe(3);
    const bucket = m.take()!;
    expect(Object.keys(bucket.toggles['f0'].variants)).toHaveLength(100);
    expect(bucket.toggles['f0'].yes).toBe(1001);
    expect(m.dropped).toBe(997 + 900);
  });
});

describe('ErrorAggregator', () => {
  it('keeps a flag total when the per-tenant split overflows', () => {
    const e = new ErrorAggregator(2);
    e.add('f', 't1', 'm1');
    e.add('f', 't2', 'm2');
    e.add('f', 't3', 'm3');
    e.add('f', 't4', 'm4');
    expect(e.take()).toEqual([
      { flag: 'f', tenantId: 't1', count: 1, message: 'm1' },
      { flag: 'f', tenantId: 't2', count: 1, message: 'm2' },
      { flag: 'f', count: 2, message: 'm4' },
    ]);
  });
});

describe('WavegateClient metrics on the evaluation fast path', () => {
  const config = {
    version: 2,
    features: [
      { name: 'on', enabled: true, strategies: [{ name: 'default', parameters: {}, constraints: [] }] },
      {
        name: 'split',
        enabled: true,
        strategies: [{ name: 'default', parameters: {}, constraints: [] }],
        variants: [{ name: '__proto__', weight: 1000, weightType: 'variable', stickiness: 'default' }],
      },
    ],
    segments: [],
  };

  it('counts into the current bucket after a take, drops beyond maxFlags, counts unknown flags', async () => {
    const client = new WavegateClient({
      url: 'http://127.0.0.1:9',
      token: 'unused',
      appName: 'spec',
      offline: true,
      bootstrap: config,
      logger: silentLogger,
      maxMetricsFlags: 2,
    });
    await client.ready(1000);
    const metrics = (client as unknown as { metrics: MetricsAggregator }).metrics;
    for (let i = 0; i < 3; i++) client.isEnabled('on', { userId: 'u' });
    expect(client.getVariant('split').name).toBe('__proto__');
    expect(metrics.take()!.toggles).toEqual({
      on: { yes: 3, no: 0, variants: {} },
      split: { yes: 1, no: 0, variants: JSON.parse('{"__proto__":1}') },
    });
    // Counters cached before the take must not swallow these.
    client.isEnabled('on');
    client.isEnabled('on');
    expect(client.isEnabled('missing', undefined, true)).toBe(true);
    client.getVariant('split');
    expect(metrics.dropped).toBe(1);
    expect(metrics.take()!.toggles).toEqual({
      on: { yes: 2, no: 0, variants: {} },
      missing: { yes: 1, no: 0, variants: {} },
    });
    await client.close();
  });
});
