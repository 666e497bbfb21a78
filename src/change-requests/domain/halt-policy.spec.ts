import { DomainError } from '../../common/errors';
import {
  DEFAULT_HALT_POLICY,
  HaltPolicy,
  WaveTally,
  WindowSignal,
  decideHalt,
  describeHaltPolicy,
  validateHaltPolicy,
} from './halt-policy';

const NOW = new Date('2024-05-01T03:12:00.000Z');
const secondsAgo = (s: number) => new Date(NOW.getTime() - s * 1000);
const policy = (overrides: Partial<HaltPolicy> = {}): HaltPolicy => ({
  ...DEFAULT_HALT_POLICY,
  ...overrides,
});

// Waves that all went fine, up to and including `upTo` (default sizes 1, 2, 8, 32, 128, 512).
const SIZES = [1, 2, 8, 32, 128, 512];
function clean(upTo: number): WaveTally[] {
  return SIZES.slice(0, upTo).map((n, i) => ({ index: i + 1, succeeded: n, failed: 0, total: n }));
}
function withWave(waves: WaveTally[], wave: WaveTally): WaveTally[] {
  return [...waves.filter((w) => w.index !== wave.index), wave];
}

describe('decideHalt', () => {
  it('does not halt a clean rollout without signals', () => {
    expect(decideHalt(DEFAULT_HALT_POLICY, clean(6), 6, [], NOW)).toEqual({ halt: false });
  });

  it('halts on a single failure in wave 1, naming the target and its error', () => {
    const waves: WaveTally[] = [
      {
        index: 1,
        succeeded: 0,
        failed: 1,
        total: 1,
        firstFailure: {
          target: 'installation:int/insight',
          error: 'drift: installation is deactivated, the plan says active',
        },
      },
    ];
    expect(decideHalt(DEFAULT_HALT_POLICY, waves, 1, [], NOW)).toEqual({
      halt: true,
      rule: 'early_wave_failure',
      waveIndex: 1,
      reason:
        '1 target failed in wave 1 (1 in the wave); any failure in the first 2 waves halts the rollout. ' +
        'First failure: installation:int/insight: drift: installation is deactivated, the plan says active',
    });
  });

  it('halts on a failure in wave 2 even when maxFailures is generous', () => {
    const waves = withWave(clean(2), { index: 2, succeeded: 1, failed: 1, total: 2 });
    const d = decideHalt(policy({ maxFailures: 10 }), waves, 2, [], NOW);
    expect(d).toMatchObject({ halt: true, rule: 'early_wave_failure', waveIndex: 2 });
  });

  it('halts on one failure in a later wave by default (maxFailures 0)', () => {
    const waves = withWave(clean(3), {
      index: 3,
      succeeded: 2,
      failed: 1,
      total: 8,
      firstFailure: {
        target: 'installation:acme/insight',
        error: 'HTTP 503 from downstream after 3 attempts',
      },
    });
    const d = decideHalt(DEFAULT_HALT_POLICY, waves, 3, [], NOW);
    expect(d).toEqual({
      halt: true,
      rule: 'wave_failures',
      waveIndex: 3,
      reason:
        '1 target failed in wave 3 (1 of 3 finished, 8 in the wave); the limit is 0 per wave. ' +
        'First failure: installation:acme/insight: HTTP 503 from downstream after 3 attempts',
    });
  });

  it('tolerates failures up to maxFailures in a later wave, and halts one beyond', () => {
    const p = policy({ maxFailures: 2 });
    expect(
      decideHalt(p, withWave(clean(3), { index: 3, succeeded: 6, failed: 2, total: 8 }), 3, [], NOW),
    ).toEqual({
      halt: false,
    });
    expect(
      decideHalt(p, withWave(clean(4), { index: 4, succeeded: 5, failed: 3, total: 32 }), 4, [], NOW),
    ).toMatchObject({
      halt: true,
      rule: 'wave_failures',
    });
  });

  it('judges the failure rate of a wave only once minSample targets of it are done', () => {
    const p = policy({ maxFailures: 1000, maxFailureRate: 0.05, minSample: 20 });
    // Wave 6: 5 of 19 failed (26 %), one short of the sample; the rollout as a whole is at 5 of 190 (2.6 %).
    const early = withWave(clean(5), { index: 6, succeeded: 14, failed: 5, total: 512 });
    expect(decideHalt(p, early, 6, [], NOW)).toEqual({ halt: false });
    const sampled = withWave(clean(5), { index: 6, succeeded: 14, failed: 6, total: 512 });
    expect(decideHalt(p, sampled, 6, [], NOW)).toMatchObject({ halt: true, rule: 'wave_failure_rate' });
    const judged = withWave(clean(5), { index: 6, succeeded: 94, failed: 6, total: 512 });
    expect(decideHalt(p, judged, 6, [], NOW)).toEqual({
      halt: true,
      rule: 'wave_failure_rate',
      waveIndex: 6,
      reason: '6 % of the finished targets failed in wave 6 (6 of 100); the limit is 5 %.',
    });
  });

  it('does not judge a rate below minSample in the wave or the rollout', () => {
    const p = policy({ strictWaves: 0, maxFailures: 1000, maxFailureRate: 0.05, minSample: 20 });
    const waves: WaveTally[] = [
      { index: 1, succeeded: 0, failed: 1, total: 1 },
      { index: 2, succeeded: 1, failed: 1, total: 2 },
      { index: 3, succeeded: 5, failed: 1, total: 8 },
    ];
    expect(decideHalt(p, waves, 3, [], NOW)).toEqual({ halt: false });
  });

  it('a failure rate exactly at the limit does not halt; above it does', () => {
    const p = policy({ maxFailures: 1000, maxFailureRate: 0.05, minSample: 20 });
    const atLimit = withWave(clean(5), { index: 6, succeeded: 195, failed: 10, total: 512 });
    // wave: 10/205 = 4.9 %; rollout: 10/376 = 2.7 %
    expect(decideHalt(p, atLimit, 6, [], NOW)).toEqual({ halt: false });
    const exactly = withWave(clean(5), { index: 6, succeeded: 190, failed: 10, total: 512 });
    // wave: 10/200 = 5 % exactly
    expect(decideHalt(p, exactly, 6, [], NOW)).toEqual({ halt: false });
    const above = withWave(clean(5), { index: 6, succeeded: 189, failed: 11, total: 512 });
    expect(decideHalt(p, above, 6, [], NOW)).toMatchObject({ halt: true, rule: 'wave_failure_rate' });
  });

  it('halts on the rate across the rollout when no single wave has a big enough sample', () => {
    const p = policy({ strictWaves: 0, maxFailures: 5, maxFailureRate: 0.05, minSample: 20 });
    const waves: WaveTally[] = [
      {
        index: 1,
        succeeded: 0,
        failed: 1,
        total: 1,
        firstFailure: { target: 'tenant:int', error: 'timeout after 10 s' },
      },
      { index: 2, succeeded: 1, failed: 1, total: 2 },
      { index: 3, succeeded: 7, failed: 1, total: 8 },
      { index: 4, succeeded: 10, failed: 1, total: 32 },
    ];
    expect(decideHalt(p, waves, 4, [], NOW)).toEqual({
      halt: true,
      rule: 'rollout_failure_rate',
      reason:
        '18.2 % of the targets finished so far failed (4 of 22, waves 1 to 4); the limit is 5 %. ' +
        'First failure: tenant:int: timeout after 10 s',
    });
  });

  it('ignores waves after the current one and judges earlier waves that report late', () => {
    const future = [...clean(2), { index: 3, succeeded: 0, failed: 8, total: 8 }];
    expect(decideHalt(DEFAULT_HALT_POLICY, future, 2, [], NOW)).toEqual({ halt: false });
    const late = withWave(clean(3), { index: 2, succeeded: 1, failed: 1, total: 2 });
    expect(decideHalt(DEFAULT_HALT_POLICY, late, 3, [], NOW)).toMatchObject({ halt: true, waveIndex: 2 });
  });

  describe('signals', () => {
    const critical: WindowSignal = {
      severity: 'critical',
      at: secondsAgo(30),
      source: 'alertmanager',
      tenantId: 'acme',
      message: 'HighErrorRate: 5xx above 2 % on acme',
    };

    it('halts on one critical signal in the window by default', () => {
      expect(decideHalt(DEFAULT_HALT_POLICY, clean(1), 1, [critical], NOW)).toEqual({
        halt: true,
        rule: 'error_signals',
        reason:
          '1 error signal in the last 10 min; the limit is 1. Latest: critical from alertmanager for tenant acme ' +
          'at 2024-05-01T03:11:30.000Z: HighErrorRate: 5xx above 2 % on acme.',
      });
    });

    it('ignores info and warning signals', () => {
      const noise: WindowSignal[] = [
        { severity: 'info', at: secondsAgo(1), count: 50 },
        { severity: 'warning', at: secondsAgo(1), count: 50 },
      ];
      expect(decideHalt(DEFAULT_HALT_POLICY, clean(2), 2, noise, NOW)).toEqual({ halt: false });
    });

    it('ignores error signals older than the window, counts those inside it', () => {
      const p = policy({ signalWindowSeconds: 60 });
      expect(decideHalt(p, clean(2), 2, [{ severity: 'error', at: secondsAgo(60) }], NOW)).toEqual({
        halt: false,
      });
      expect(decideHalt(p, clean(2), 2, [{ severity: 'error', at: secondsAgo(59) }], NOW)).toMatchObject({
        halt: true,
      });
    });

    it('sums counts until maxErrorSignals is reached', () => {
      const p = policy({ maxErrorSignals: 5 });
      const four: WindowSignal[] = [
        { severity: 'error', at: secondsAgo(100), count: 2 },
        { severity: 'error', at: secondsAgo(50), count: 2 },
      ];
      expect(decideHalt(p, clean(3), 3, four, NOW)).toEqual({ halt: false });
      const five = [...four, { severity: 'error', at: secondsAgo(10) } as WindowSignal];
      expect(decideHalt(p, clean(3), 3, five, NOW)).toMatchObject({
        halt: true,
        reason: expect.stringMatching(/^5 error signals in the last 10 min; the limit is 5\./),
      });
    });

    it('counts a signal with a missing, zero or nonsense count once', () => {
      const p = policy({ maxErrorSignals: 3 });
      const odd: WindowSignal[] = [
        { severity: 'error', at: secondsAgo(3) },
        { severity: 'error', at: secondsAgo(2), count: 0 },
        { severity: 'error', at: secondsAgo(1), count: Number.NaN },
      ];
      expect(decideHalt(p, clean(3), 3, odd, NOW)).toMatchObject({ halt: true, rule: 'error_signals' });
    });

    it('counts a signal stamped slightly in the future (clock skew)', () => {
      const skewed: WindowSignal = { severity: 'critical', at: new Date(NOW.getTime() + 5000) };
      expect(decideHalt(DEFAULT_HALT_POLICY, clean(1), 1, [skewed], NOW)).toMatchObject({ halt: true });
    });

    it('reports a failure before a signal when both apply', () => {
      const waves = [{ index: 1, succeeded: 0, failed: 1, total: 1 }];
      expect(decideHalt(DEFAULT_HALT_POLICY, waves, 1, [critical], NOW)).toMatchObject({
        rule: 'early_wave_failure',
      });
    });
  });

  describe('after a checker resumed a halted rollout', () => {
    const halted = withWave(clean(2), {
      index: 2,
      succeeded: 1,
      failed: 1,
      total: 2,
      firstFailure: { target: 'installation:beta/insight', error: 'lock timeout' },
    });
    const acknowledged = { at: secondsAgo(120), failedByWave: { 2: 1 } };

    it('does not halt again on the failures and signals the checker accepted', () => {
      const oldSignal: WindowSignal = { severity: 'critical', at: secondsAgo(300) };
      expect(decideHalt(DEFAULT_HALT_POLICY, halted, 3, [oldSignal], NOW, acknowledged)).toEqual({
        halt: false,
      });
    });

    it('halts on a new failure, naming the latest rather than the old first one', () => {
      const again = withWave(halted, {
        index: 2,
        succeeded: 0,
        failed: 2,
        total: 2,
        firstFailure: { target: 'installation:beta/insight', error: 'lock timeout' },
        latestFailure: { target: 'installation:gamma/insight', error: 'row not found' },
      });
      const d = decideHalt(DEFAULT_HALT_POLICY, again, 2, [], NOW, acknowledged);
      expect(d).toMatchObject({ halt: true, rule: 'early_wave_failure', waveIndex: 2 });
      expect(d.halt && d.reason).toMatch(/Latest failure: installation:gamma\/insight: row not found$/);
    });

    it('halts on a signal that arrived after the resume', () => {
      const fresh: WindowSignal = { severity: 'error', at: secondsAgo(60) };
      expect(decideHalt(DEFAULT_HALT_POLICY, halted, 3, [fresh], NOW, acknowledged)).toMatchObject({
        halt: true,
      });
    });
  });
});

describe('validateHaltPolicy', () => {
  it('returns the defaults when nothing is given', () => {
    expect(validateHaltPolicy(undefined)).toEqual(DEFAULT_HALT_POLICY);
  });

  it('merges a partial policy over the defaults', () => {
    expect(validateHaltPolicy({ maxFailures: 3, maxFailureRate: 0.1 })).toEqual({
      ...DEFAULT_HALT_POLICY,
      maxFailures: 3,
      maxFailureRate: 0.1,
    });
  });

  it('names every bad field, including a percentage given where a fraction is expected and a misspelt key', () => {
    let error: DomainError | undefined;
    try {
      validateHaltPolicy({
        maxFailureRate: 5,
        maxFailures: -1,
        maxErrorSignals: 0,
        minSample: 2.5,
        maxFailure: 3,
      });
    } catch (e) {
      error = e as DomainError;
    }
    expect(error?.kind).toBe('unprocessable');
    expect(error?.code).toBe('HALT_POLICY.INVALID');
    expect(error?.details?.map((d) => d.field)).toEqual([
      'haltPolicy.maxFailure',
      'haltPolicy.maxFailures',
      'haltPolicy.minSample',
      'haltPolicy.maxErrorSignals',
      'haltPolicy.maxFailureRate',
    ]);
  });
});

describe('describeHaltPolicy', () => {
  it('says in one sentence when the default policy halts', () => {
    expect(describeHaltPolicy(DEFAULT_HALT_POLICY)).toBe(
      'Halts on any failure in the first 2 waves, more than 0 failures in a later wave, a failure rate above 5 % ' +
        'once 20 targets are done or 1 error signal within 10 min.',
    );
  });
});
