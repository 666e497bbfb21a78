import { MAX_ATTEMPTS, MAX_RETRY_MS, nextStep, retryDelayMs } from './backoff';

describe('webhook retry schedule', () => {
  it('starts at 1 s and doubles up to 1 h (without jitter: random = 0.5)', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, mid))).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect(retryDelayMs(12, mid)).toBe(2_048_000);
    expect(retryDelayMs(13, mid)).toBe(MAX_RETRY_MS);
    expect(retryDelayMs(14, mid)).toBe(MAX_RETRY_MS);
  });

  it('jitters each delay by at most 20 % and never beyond the cap', () => {
    expect(retryDelayMs(1, () => 0)).toBe(800);
    expect(retryDelayMs(1, () => 0.999999)).toBe(1200);
    expect(retryDelayMs(14, () => 0.999999)).toBe(MAX_RETRY_MS);
    for (let n = 1; n < MAX_ATTEMPTS; n++) {
      const d = retryDelayMs(n);
      expect(d).toBeGreaterThanOrEqual(800 * Math.min(2 ** (n - 1), 3600) * 0.999);
      expect(d).toBeLessThanOrEqual(MAX_RETRY_MS);
    }
  });

  it('retries 14 times, gives up after the 15th failed attempt, stops at once on 410', () => {
    for (let n = 1; n < MAX_ATTEMPTS; n++) expect(nextStep(n, { kind: 'failed' }).status).toBe('pending');
    expect(nextStep(MAX_ATTEMPTS, { kind: 'failed' })).toEqual({ status: 'failed', disable: false });
    expect(nextStep(1, { kind: 'gone' })).toEqual({ status: 'failed', disable: true });
    expect(nextStep(3, { kind: 'delivered' })).toEqual({ status: 'succeeded' });
  });
});
