import {
  hashPrefix,
  murmurhash3,
  murmurhash3Concat,
  murmurhash3Prefixed,
  normalizedValue,
  prefixedBucket,
  STRATEGY_SEED,
  VARIANT_SEED,
} from './murmurhash3';

describe('murmurhash3 (x86, 32-bit)', () => {
  // Reference values from the murmurhash3js package, which the Unleash server and node SDK use.
  it.each([
    ['', 0, 0],
    ['', VARIANT_SEED, 4002661964],
    ['a', 0, 1009084850],
    ['ab', 0, 2613040991],
    ['abc', 0, 3017643002],
    ['abcd', 0, 1139631978],
    ['abcde', 0, 3902511862],
    ['hello world', 0, 1586663183],
    ['hello world', VARIANT_SEED, 4045744481],
    ['Feature.A:123', 0, 3533683639],
    ['øæå', 0, 2193831790],
    ['😊_φriend_你好', 0, 3882002650],
    ['x'.repeat(37), VARIANT_SEED, 183963521],
  ])('hash(%j, %i) = %i', (key, seed, expected) => {
    expect(murmurhash3(key, seed)).toBe(expected);
  });

  it('hashes a prefix and a value exactly as their concatenation, wherever the split falls', () => {
    const s = 'Feature.flexibleRollout.10:some-user-id';
    for (let k = 0; k <= s.length; k++) {
      expect(murmurhash3Concat(s.slice(0, k), s.slice(k), 7)).toBe(murmurhash3(s, 7));
    }
  });

  it('hashes from a precomputed prefix exactly as the concatenation, for every prefix and value length', () => {
    const s = 'Feature.flexibleRollout.10:some-user-id-øæå-😊';
    for (let k = 0; k <= s.length; k++) {
      for (let end = k; end <= s.length; end++) {
        for (const seed of [STRATEGY_SEED, VARIANT_SEED]) {
          const p = hashPrefix(s.slice(0, k), seed);
          expect(murmurhash3Prefixed(p, s.slice(k, end))).toBe(murmurhash3(s.slice(0, end), seed));
        }
      }
    }
    expect(prefixedBucket(hashPrefix('AB12A:', STRATEGY_SEED), '122', 100)).toBe(
      normalizedValue('AB12A:', '122', 100, STRATEGY_SEED),
    );
  });

  it('buckets ids into 1..normalizer like Unleash', () => {
    // From the client specification: userId 122 is in a 50% gradualRolloutUserId of group AB12A, 155 is not.
    expect(normalizedValue('AB12A:', '122', 100, STRATEGY_SEED)).toBeLessThanOrEqual(50);
    expect(normalizedValue('AB12A:', '155', 100, STRATEGY_SEED)).toBeGreaterThan(50);
    for (let k = 0; k < 500; k++) {
      const bucket = normalizedValue('g:', String(k), 7, VARIANT_SEED);
      expect(bucket).toBeGreaterThanOrEqual(1);
      expect(bucket).toBeLessThanOrEqual(7);
    }
  });
});
