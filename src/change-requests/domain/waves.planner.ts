// Wave planning: which targets go first and how many go at once (DESIGN.md "Waves and halting"). Pure.
//
// Public API
//   type TargetTier = 'internal' | 'standard' | 'key'
//   interface OrderableTarget { id, tenantId, tier }
//   orderTargets<T extends OrderableTarget>(targets): T[]       new array; input untouched
//   interface WaveSpec { sizes?: number[]; percentages?: number[] }
//   planWaves(count, spec?): number[]                           wave sizes, each >= 1, summing to count
//   assignWaves<T>(ordered, sizes): { index, targets }[]        index is 1-based
//   buildWaves<T extends OrderableTarget>(targets, spec?)      = assignWaves(orderTargets(targets), planWaves(...))
//   interface ValidWaveSettings { sizes?, percentages?, bakeSeconds }
//   validateWaveSettings(input: unknown, field = 'waves'): ValidWaveSettings   for the CR body's `waves`
//   DEFAULT_BAKE_SECONDS (600), MAX_BAKE_SECONDS (7 days), MAX_WAVE_ENTRIES (1000)
//   WAVES_ERROR_CODE = 'ROLLOUT.INVALID_WAVES'
//
// Decisions
// - Order: tier `internal` first, `standard`, then `key` last (an unknown tier is treated like `key`: last, the
//   cautious side); within a tier by tenant id, then by target id, comparing code units (not locale) so the order,
//   and with it the plan hash, is the same on every machine.
// - Wave indexes are 1-based everywhere (plan, API, UI, halt reasons): "wave 1" is the first wave.
// - Default sizes: 1, 2, then each wave 4x the previous (8, 32, 128, 512, ...); the last wave holds what is left
//   (1000 targets -> 1, 2, 8, 32, 128, 512, 317).
// - Explicit sizes: used in order; targets left after the last size go in ONE final wave (the last size is not
//   repeated: `[1, 10, 100]` reads as "then the rest"). Sizes beyond the target count are cut; no empty wave.
// - Percentages are CUMULATIVE ("1, 5, 25, 100": 1 % of targets done after wave 1, 5 % after wave 2, ...),
//   strictly ascending, each in (0, 100]. The cumulative count is ceil(p% x count), at least one more than the
//   previous wave's (never an empty wave: with few targets the early waves stay at 1 target each rather than
//   merging), at most count. If the last percentage is below 100 the rest goes in a final wave.
// - count 0 gives no waves ([]); refusing an empty change request is the caller's job.
// - Invalid settings throw 422 ROLLOUT.INVALID_WAVES with one detail per offending field (`waves.sizes[2]`), all
//   of them, not just the first. sizes and percentages together are refused (which one would win is a guess).
import { ErrorDetail, unprocessable } from '../../common/errors';

export type TargetTier = 'internal' | 'standard' | 'key';

export interface OrderableTarget {
  /** The target id, e.g. `acme` or `acme/insight`. */
  id: string;
  tenantId: string;
  tier: TargetTier;
}

export interface WaveSpec {
  sizes?: readonly number[];
  percentages?: readonly number[];
}

export interface ValidWaveSettings {
  sizes?: number[];
  percentages?: number[];
  bakeSeconds: number;
}

export const DEFAULT_BAKE_SECONDS = 600;
export const MAX_BAKE_SECONDS = 7 * 24 * 60 * 60;
export const MAX_WAVE_ENTRIES = 1000;
export const WAVES_ERROR_CODE = 'ROLLOUT.INVALID_WAVES';

const TIER_RANK: Readonly<Record<TargetTier, number>> = { internal: 0, standard: 1, key: 2 };

export function orderTargets<T extends OrderableTarget>(targets: readonly T[]): T[] {
  return [...targets].sort(
    (a, b) => tierRank(a.tier) - tierRank(b.tier) || compare(a.tenantId, b.tenantId) || compare(a.id, b.id),
  );
}

export function planWaves(count: number, spec: WaveSpec = {}): number[] {
  if (!Number.isInteger(count) || count < 0) {
    // The count comes from the plan, never from the user: a bad one is a bug.
    throw new RangeError(`planWaves: count must be a non-negative integer, got ${count}`);
  }
  validateWaveSpec(spec, 'waves');
  if (count === 0) return [];
  if (spec.sizes) return fromSizes(count, spec.sizes);
  if (spec.percentages) return fromPercentages(count, spec.percentages);
  return fromSizes(count, defaultSizes(count));
}

export function assignWaves<T>(
  ordered: readonly T[],
  sizes: readonly number[],
): { index: number; targets: T[] }[] {
  const total = sizes.reduce((sum, n) => sum + n, 0);
  if (total !== ordered.length) {
    throw new RangeError(`assignWaves: wave sizes sum to ${total}, but there are ${ordered.length} targets`);
  }
  const waves: { index: number; targets: T[] }[] = [];
  let start = 0;
  sizes.forEach((size, i) => {
    waves.push({ index: i + 1, targets: ordered.slice(start, start + size) });
    start += size;
  });
  return waves;
}

export function buildWaves<T extends OrderableTarget>(
  targets: readonly T[],
  spec: WaveSpec = {},
): { index: number; targets: T[] }[] {
  return assignWaves(orderTargets(targets), planWaves(targets.length, spec));
}

export function validateWaveSettings(input: unknown, field = 'waves'): ValidWaveSettings {
  if (input === undefined || input === null) return { bakeSeconds: DEFAULT_BAKE_SECONDS };
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw unprocessable(WAVES_ERROR_CODE, `${field} must be an object`, [
      { field, reason: 'must be an object' },
    ]);
  }
  const record = input as Record<string, unknown>;
  const details: ErrorDetail[] = [];
  for (const key of Object.keys(record)) {
    if (!['sizes', 'percentages', 'bakeSeconds'].includes(key)) {
      details.push({
        field: `${field}.${key}`,
        reason: 'unknown setting; expected sizes, percentages or bakeSeconds',
      });
    }
  }
  details.push(...specDetails(record, field));
  const bake = record.bakeSeconds;
  if (
    bake !== undefined &&
    (typeof bake !== 'number' || !Number.isInteger(bake) || bake < 0 || bake > MAX_BAKE_SECONDS)
  ) {
    details.push({
      field: `${field}.bakeSeconds`,
      reason: `must be an integer from 0 to ${MAX_BAKE_SECONDS}`,
    });
  }
  if (details.length > 0) throw invalid(details);
  const out: ValidWaveSettings = { bakeSeconds: (bake as number | undefined) ?? DEFAULT_BAKE_SECONDS };
  if (record.sizes !== undefined) out.sizes = [...(record.sizes as number[])];
  if (record.percentages !== undefined) out.percentages = [...(record.percentages as number[])];
  return out;
}

// --- helpers ---------------------------------------------------------------------------------------------------

function validateWaveSpec(spec: WaveSpec, field: string): void {
  const details = specDetails(spec as Record<string, unknown>, field);
  if (details.length > 0) throw invalid(details);
}

function specDetails(spec: Record<string, unknown>, field: string): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  const { sizes, percentages } = spec;
  if (sizes !== undefined && percentages !== undefined) {
    details.push({ field, reason: 'give either sizes or percentages, not both' });
  }
  if (sizes !== undefined) {
    if (!Array.isArray(sizes) || sizes.length === 0 || sizes.length > MAX_WAVE_ENTRIES) {
      details.push({
        field: `${field}.sizes`,
        reason: `must be a list of 1 to ${MAX_WAVE_ENTRIES} wave sizes`,
      });
    } else {
      sizes.forEach((n: unknown, i) => {
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
          details.push({ field: `${field}.sizes[${i}]`, reason: 'must be a positive integer' });
        }
      });
    }
  }
  if (percentages !== undefined) {
    if (!Array.isArray(percentages) || percentages.length === 0 || percentages.length > MAX_WAVE_ENTRIES) {
      details.push({
        field: `${field}.percentages`,
        reason: `must be a list of 1 to ${MAX_WAVE_ENTRIES} cumulative percentages`,
      });
    } else {
      let previous = 0;
      percentages.forEach((p: unknown, i) => {
        if (typeof p !== 'number' || !Number.isFinite(p) || p <= 0 || p > 100) {
          details.push({
            field: `${field}.percentages[${i}]`,
            reason: 'must be a number greater than 0 and at most 100',
          });
          return;
        }
        if (p <= previous) {
          details.push({
            field: `${field}.percentages[${i}]`,
            reason: `must be greater than the previous percentage (${previous}); percentages are cumulative, e.g. 1, 5, 25, 100`,
          });
        }
        previous = p;
      });
    }
  }
  return details;
}

function invalid(details: ErrorDetail[]) {
  return unprocessable(
    WAVES_ERROR_CODE,
    `Invalid wave settings: ${details.map((d) => `${d.field} ${d.reason}`).join('; ')}`,
    details,
  );
}

function defaultSizes(count: number): number[] {
  const sizes = [1, 2];
  let covered = 3;
  while (covered < count) {
    const next = sizes[sizes.length - 1] * 4;
    sizes.push(next);
    covered += next;
  }
  return sizes;
}

function fromSizes(count: number, sizes: readonly number[]): number[] {
  const waves: number[] = [];
  let left = count;
  for (const size of sizes) {
    if (left === 0) break;
    const n = Math.min(size, left);
    waves.push(n);
    left -= n;
  }
  if (left > 0) waves.push(left);
  return waves;
}

function fromPercentages(count: number, percentages: readonly number[]): number[] {
  const waves: number[] = [];
  let done = 0;
  for (const p of percentages) {
    if (done === count) break;
    // The small epsilon keeps float noise (7.000000000000001) from adding a target.
    const target = Math.min(count, Math.max(done + 1, Math.ceil((p * count) / 100 - 1e-9)));
    waves.push(target - done);
    done = target;
  }
  if (done < count) waves.push(count - done);
  return waves;
}

function tierRank(tier: string): number {
  return Object.prototype.hasOwnProperty.call(TIER_RANK, tier)
    ? TIER_RANK[tier as TargetTier]
    : TIER_RANK.key;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
