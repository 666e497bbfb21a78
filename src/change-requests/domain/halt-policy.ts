// Halt decisions: should a running rollout stop now? (DESIGN.md "Waves and halting"). Pure: the engine gathers
// the wave tallies and the signals that concern the CR, calls decideHalt() after every target result and every
// signal, and records a halt before the next target starts.
//
// Public API
//   interface HaltPolicy { strictWaves, maxFailures, maxFailureRate, minSample, maxErrorSignals, signalWindowSeconds }
//   DEFAULT_HALT_POLICY                 2 / 0 / 0.05 / 20 / 1 / 600 s
//   interface WaveTally { index, succeeded, failed, total, firstFailure?, latestFailure? }  ({ target, error })
//   interface WindowSignal { severity, count?, at, source?, message?, tenantId? }
//   interface HaltAcknowledgement { at, failedByWave }      what a checker accepted when resuming a halted CR
//   type HaltRule = 'early_wave_failure' | 'wave_failures' | 'wave_failure_rate' | 'rollout_failure_rate'
//                 | 'error_signals'
//   type HaltDecision = { halt: false } | { halt: true; rule; reason; waveIndex? }
//   decideHalt(policy, waves, currentWaveIndex, signals, now, acknowledged?): HaltDecision
//   validateHaltPolicy(input: unknown, field = 'haltPolicy'): HaltPolicy   defaults merged in; 422 HALT_POLICY.INVALID
//   describeHaltPolicy(policy): string                     one sentence for the plan and the UI
//
// Decisions
// - Wave indexes are 1-based (wave 1 is the first), as in the plan. Waves after currentWaveIndex are ignored; every
//   wave up to it is judged, so a late result of an earlier wave still counts.
// - Waves 1..strictWaves (default 2): any failure halts. Later waves: halt when failed > maxFailures (default 0), or
//   when failed / (succeeded + failed) > maxFailureRate, judged only once that wave has >= minSample finished targets.
//   The same rate is also judged over the whole rollout so far (all waves up to the current one, once >= minSample
//   finished): many small waves with one failure each should not slip under a per-wave sample size.
// - maxFailureRate is a fraction (0.05 = 5 %), not a percentage; the validator refuses values above 1.
// - Signals: only severity `error` and `critical` count; each counts `count` times (missing, non-finite or < 1 counts
//   once: a signal that arrived is evidence of at least one error). Halt when the sum within the last
//   signalWindowSeconds (at > now - window; signals stamped in the future by a skewed clock still count) reaches
//   maxErrorSignals (default 1). Which signals concern the CR (its id, or tenants of its waves) is the caller's filter.
// - Failures are judged before signals: a concrete failed target is the better first line for the reason.
// - Resuming a halted CR: pass `acknowledged` = { at: resume time, failedByWave: failures per wave at that time }.
//   Acknowledged failures are taken out of the counts (and out of the sample for rates) and signals at or before
//   `at` are ignored; otherwise the same facts would halt the rollout again the moment it resumed.
// - Reasons are sentences for the on-call engineer: what happened, where, the limit, and the first failure's target
//   and error or the latest signal's source and message.
// - validateHaltPolicy refuses unknown keys (a misspelt `maxFailure` must not silently leave the default in place).
import { ErrorDetail, unprocessable } from '../../common/errors';

export interface HaltPolicy {
  /** The first this-many waves halt on any failure. */
  strictWaves: number;
  /** After the strict waves: halt when a wave has more failures than this. */
  maxFailures: number;
  /** Halt when the failure fraction (0..1) exceeds this, once minSample targets are finished. */
  maxFailureRate: number;
  minSample: number;
  /** Halt when error/critical signals in the window add up to this many. */
  maxErrorSignals: number;
  signalWindowSeconds: number;
}

export const DEFAULT_HALT_POLICY: Readonly<HaltPolicy> = Object.freeze({
  strictWaves: 2,
  maxFailures: 0,
  maxFailureRate: 0.05,
  minSample: 20,
  maxErrorSignals: 1,
  signalWindowSeconds: 600,
});

export interface WaveTally {
  /** 1-based. */
  index: number;
  succeeded: number;
  failed: number;
  total: number;
  /** The earliest failure of the wave, for the reason. `target` like `installation:acme/insight`. */
  firstFailure?: { target: string; error: string };
  /** The most recent failure; shown instead of the first when earlier failures were acknowledged. */
  latestFailure?: { target: string; error: string };
}

export type SignalSeverity = 'info' | 'warning' | 'error' | 'critical';

export interface WindowSignal {
  severity: SignalSeverity;
  count?: number;
  at: Date;
  source?: string;
  message?: string;
  tenantId?: string;
}

export interface HaltAcknowledgement {
  /** When a checker resumed the halted rollout. */
  at: Date;
  /** Failures per wave index that the checker saw and accepted. */
  failedByWave: Readonly<Record<number, number>>;
}

export type HaltRule =
  'early_wave_failure' | 'wave_failures' | 'wave_failure_rate' | 'rollout_failure_rate' | 'error_signals';

export type HaltDecision =
  | { halt: false }
  | {
      halt: true;
      rule: HaltRule;
      reason: string;
      /** The wave the rule fired on, if it is about one wave. */ waveIndex?: number;
    };

const POLICY_KEYS: readonly (keyof HaltPolicy)[] = [
  'strictWaves',
  'maxFailures',
  'maxFailureRate',
  'minSample',
  'maxErrorSignals',
  'signalWindowSeconds',
];

export function decideHalt(
  policy: HaltPolicy,
  waves: readonly WaveTally[],
  currentWaveIndex: number,
  signals: readonly WindowSignal[],
  now: Date,
  acknowledged?: HaltAcknowledgement,
): HaltDecision {
  const judged = waves
    .filter((w) => w.index <= currentWaveIndex)
    .map((w) => {
      // Acknowledged failures leave the sample altogether, so they skew neither the count nor the rate.
      const accepted = Math.min(w.failed, acknowledged?.failedByWave[w.index] ?? 0);
      return { ...w, failed: w.failed - accepted, acknowledgedFailures: accepted };
    })
    .sort((a, b) => a.index - b.index);

  for (const w of judged) {
    if (w.failed === 0) continue;
    const done = w.succeeded + w.failed;
    if (w.index <= policy.strictWaves) {
      return {
        halt: true,
        rule: 'early_wave_failure',
        waveIndex: w.index,
        reason:
          `${targets(w.failed)} failed in wave ${w.index} (${w.total} in the wave); any failure in the first ` +
          `${plural(policy.strictWaves, 'wave')} halts the rollout.${firstFailure(w)}`,
      };
    }
    if (w.failed > policy.maxFailures) {
      return {
        halt: true,
        rule: 'wave_failures',
        waveIndex: w.index,
        reason:
          `${targets(w.failed)} failed in wave ${w.index} (${w.failed} of ${done} finished, ${w.total} in the wave); ` +
          `the limit is ${policy.maxFailures} per wave.${firstFailure(w)}`,
      };
    }
    if (done >= policy.minSample && w.failed / done > policy.maxFailureRate) {
      return {
        halt: true,
        rule: 'wave_failure_rate',
        waveIndex: w.index,
        reason:
          `${percent(w.failed / done)} of the finished targets failed in wave ${w.index} (${w.failed} of ${done}); ` +
          `the limit is ${percent(policy.maxFailureRate)}.${firstFailure(w)}`,
      };
    }
  }

  const failed = judged.reduce((sum, w) => sum + w.failed, 0);
  const done = judged.reduce((sum, w) => sum + w.succeeded + w.failed, 0);
  if (failed > 0 && done >= policy.minSample && failed / done > policy.maxFailureRate) {
    const first = judged.find((w) => w.failed > 0);
    return {
      halt: true,
      rule: 'rollout_failure_rate',
      reason:
        `${percent(failed / done)} of the targets finished so far failed (${failed} of ${done}, waves 1 to ` +
        `${currentWaveIndex}); the limit is ${percent(policy.maxFailureRate)}.${first ? firstFailure(first) : ''}`,
    };
  }

  const windowStart = now.getTime() - policy.signalWindowSeconds * 1000;
  const counted = signals.filter(
    (s) =>
      (s.severity === 'error' || s.severity === 'critical') &&
      s.at.getTime() > windowStart &&
      (!acknowledged || s.at.getTime() > acknowledged.at.getTime()),
  );
  const total = counted.reduce((sum, s) => sum + signalWeight(s), 0);
  if (counted.length > 0 && total >= policy.maxErrorSignals) {
    const latest = counted.reduce((a, b) => (b.at.getTime() >= a.at.getTime() ? b : a));
    return {
      halt: true,
      rule: 'error_signals',
      reason:
        `${plural(total, 'error signal')} in the last ${duration(policy.signalWindowSeconds)}; the limit is ` +
        `${policy.maxErrorSignals}. Latest: ${describeSignal(latest)}`,
    };
  }
  return { halt: false };
}

export function validateHaltPolicy(input: unknown, field = 'haltPolicy'): HaltPolicy {
  if (input === undefined || input === null) return { ...DEFAULT_HALT_POLICY };
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw unprocessable('HALT_POLICY.INVALID', `${field} must be an object`, [
      { field, reason: 'must be an object' },
    ]);
  }
  const record = input as Record<string, unknown>;
  const details: ErrorDetail[] = [];
  for (const key of Object.keys(record)) {
    if (!(POLICY_KEYS as readonly string[]).includes(key)) {
      details.push({
        field: `${field}.${key}`,
        reason: `unknown setting; expected one of ${POLICY_KEYS.join(', ')}`,
      });
    }
  }
  const out: HaltPolicy = { ...DEFAULT_HALT_POLICY };
  const int = (key: keyof HaltPolicy, min: number, max: number) => {
    const value = record[key];
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      details.push({ field: `${field}.${key}`, reason: `must be an integer from ${min} to ${max}` });
    } else {
      out[key] = value;
    }
  };
  int('strictWaves', 0, 1000);
  int('maxFailures', 0, 1_000_000);
  int('minSample', 1, 1_000_000);
  // 0 would mean "halt with no signal at all"; to ignore signals, set a large number instead.
  int('maxErrorSignals', 1, 1_000_000);
  int('signalWindowSeconds', 1, 7 * 24 * 60 * 60);
  const rate = record.maxFailureRate;
  if (rate !== undefined) {
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
      details.push({
        field: `${field}.maxFailureRate`,
        reason: 'must be a fraction from 0 to 1 (0.05 means 5 %)',
      });
    } else {
      out.maxFailureRate = rate;
    }
  }
  if (details.length > 0) {
    throw unprocessable(
      'HALT_POLICY.INVALID',
      `Invalid halt policy: ${details.map((d) => `${d.field} ${d.reason}`).join('; ')}`,
      details,
    );
  }
  return out;
}

export function describeHaltPolicy(policy: HaltPolicy): string {
  const parts: string[] = [];
  if (policy.strictWaves > 0) parts.push(`any failure in the first ${plural(policy.strictWaves, 'wave')}`);
  parts.push(
    `more than ${plural(policy.maxFailures, 'failure')} in a later wave`,
    `a failure rate above ${percent(policy.maxFailureRate)} once ${policy.minSample} targets are done`,
    `${plural(policy.maxErrorSignals, 'error signal')} within ${duration(policy.signalWindowSeconds)}`,
  );
  return `Halts on ${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1]}.`;
}

// --- helpers ---------------------------------------------------------------------------------------------------

function signalWeight(s: WindowSignal): number {
  return typeof s.count === 'number' && Number.isFinite(s.count) && s.count >= 1 ? Math.floor(s.count) : 1;
}

function describeSignal(s: WindowSignal): string {
  const from = s.source ? ` from ${s.source}` : '';
  const tenant = s.tenantId ? ` for tenant ${s.tenantId}` : '';
  const count = signalWeight(s) > 1 ? ` (x${signalWeight(s)})` : '';
  const message = s.message ? `: ${s.message}` : '';
  return `${s.severity}${from}${tenant} at ${s.at.toISOString()}${count}${message}.`;
}

function firstFailure(w: WaveTally & { acknowledgedFailures: number }): string {
  // After a resume the wave's first failure is old news; the latest one is what changed.
  if (w.acknowledgedFailures > 0 && w.latestFailure) {
    return ` Latest failure: ${w.latestFailure.target}: ${w.latestFailure.error}`;
  }
  return w.firstFailure ? ` First failure: ${w.firstFailure.target}: ${w.firstFailure.error}` : '';
}

function targets(n: number): string {
  return n === 1 ? '1 target' : `${n} targets`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function percent(fraction: number): string {
  const pct = Math.round(fraction * 1000) / 10;
  return `${pct} %`;
}

function duration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
