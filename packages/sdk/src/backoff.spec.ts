import { Backoff } from './backoff';

describe('Backoff', () => {
  it('grows exponentially within [min, max] with full jitter, and resets', () => {
    const top = new Backoff(100, 1000, () => 0.999999);
    expect([1, 2, 3, 4, 5, 6].map(() => top.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    top.reset();
    expect(top.next()).toBe(100);
    const bottom = new Backoff(100, 1000, () => 0);
    expect([1, 2, 3].map(() => bottom.next())).toEqual([100, 100, 100]);
    let x = 0;
    const spread = new Backoff(100, 10_000, () => (x = (x + 0.37) % 1));
    for (let i = 0; i < 50; i++) {
      const d = spread.next();
      expect(d).toBeGreaterThanOrEqual(100);
      expect(d).toBeLessThanOrEqual(10_000);
    }
  });
});
