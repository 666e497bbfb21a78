import { compileConstraint, type ConstraintEnv, type ConstraintMatcher } from './constraints';
import { fieldReader, stringSet } from './context';
import { parseCidr, parseIPv4, v4InRange, type CidrRange } from './ip';
import { STRATEGY_SEED, hashPrefix, normalizedValue, prefixedBucket, type HashPrefix } from './murmurhash3';
import type { EvaluationContext, EvaluationReason, Segment, Strategy } from './types';
import { compileVariants, type CompiledVariants } from './variants';

export type StrategyTest = (context: EvaluationContext) => boolean;

export interface StrategyEnv extends ConstraintEnv {
  random: () => number;
  hostname: string | undefined;
}

export interface CompiledStrategy {
  // Position in the flag's strategy list as served.
  index: number;
  name: string;
  id: string | undefined;
  // The strategy's own constraints, then those of its segments.
  constraints: ConstraintMatcher[];
  // A missing segment or an unknown strategy: never enabled.
  never: boolean;
  // The test is always true (e.g. `default`): the hot path skips calling it.
  always: boolean;
  test: StrategyTest;
  variants: CompiledVariants | undefined;
  // The OpenFeature reason a match gives, before variants are considered.
  reason: EvaluationReason;
}

const ALWAYS: StrategyTest = () => true;
const NEVER: StrategyTest = () => false;

export const BUILT_IN_STRATEGIES: readonly string[] = [
  'default',
  'flexibleRollout',
  'userWithId',
  'remoteAddress',
  'applicationHostname',
  'gradualRolloutUserId',
  'gradualRolloutSessionId',
  'gradualRolloutRandom',
];

function param(strategy: Strategy, name: string): string | undefined {
  const value = strategy.parameters?.[name];
  return value === undefined || value === null ? undefined : String(value);
}

// Unleash splits list parameters on commas with optional whitespace around them.
function splitList(value: string): string[] {
  return value.trim().split(/\s*,\s*/);
}

function asId(value: unknown): string | undefined {
  if (!value) return undefined;
  return typeof value === 'string' ? value : String(value);
}

// Whether a percentage rollout of the stickiness value is in: bucket(1..100) <= percentage.
function rollout(groupPrefix: string, id: string, percentage: number): boolean {
  return percentage > 0 && normalizedValue(groupPrefix, id, 100, STRATEGY_SEED) <= percentage;
}

// The same with a prefix fixed at compile time (the strategy's groupId), hashed once.
function prefixedRollout(prefix: HashPrefix, id: string, percentage: number): boolean {
  return percentage > 0 && prefixedBucket(prefix, id, 100) <= percentage;
}

function randomBucket(random: () => number): number {
  return Math.floor(random() * 100) + 1;
}

function flexibleRollout(strategy: Strategy, env: StrategyEnv): StrategyTest {
  const percentage = Number(param(strategy, 'rollout'));
  if (!(percentage > 0)) return NEVER;
  const stickiness = param(strategy, 'stickiness') || 'default';
  const groupId = param(strategy, 'groupId') || '';
  const prefix = `${groupId}:`;
  const hashed = hashPrefix(prefix, STRATEGY_SEED);
  const random = env.random;
  // Without a groupId the SDKs fall back to the context's featureToggle field as the group.
  const inRollout = (ctx: EvaluationContext, id: string): boolean =>
    groupId !== '' || !ctx.featureToggle
      ? prefixedRollout(hashed, id, percentage)
      : rollout(`${String(ctx.featureToggle)}:`, id, percentage);
  if (stickiness === 'random') return () => randomBucket(random) <= percentage;
  if (stickiness === 'default') {
    if (percentage >= 100) return ALWAYS;
    return (ctx) => {
      const id = asId(ctx.userId) ?? asId(ctx.sessionId);
      return id === undefined ? randomBucket(random) <= percentage : inRollout(ctx, id);
    };
  }
  const read = fieldReader(stickiness);
  // At 100 % every context with a stickiness value is in, whatever its bucket.
  if (percentage >= 100) return (ctx) => !!read(ctx);
  if (groupId !== '') {
    return (ctx) => {
      const id = read(ctx);
      return !!id && prefixedRollout(hashed, id, percentage);
    };
  }
  return (ctx) => {
    const id = read(ctx);
    return !!id && inRollout(ctx, id);
  };
}

function gradualRollout(strategy: Strategy, field: 'userId' | 'sessionId'): StrategyTest {
  const percentage = Number(param(strategy, 'percentage'));
  if (!(percentage > 0)) return NEVER;
  const hashed = hashPrefix(`${param(strategy, 'groupId') || ''}:`, STRATEGY_SEED);
  return (ctx) => {
    const id = asId(ctx[field]);
    return id !== undefined && prefixedRollout(hashed, id, percentage);
  };
}

function remoteAddress(strategy: Strategy): StrategyTest {
  const ips = param(strategy, 'IPs');
  if (!ips) return NEVER;
  const entries = splitList(ips);
  const exact = new Set(entries);
  // The node SDK matches exact strings, and IPv4 addresses against IPv4 ranges.
  const ranges: CidrRange[] = [];
  for (const entry of entries) {
    const range = parseCidr(entry);
    if (range !== undefined && range.family === 4) ranges.push(range);
  }
  return (ctx) => {
    const address = ctx.remoteAddress;
    if (typeof address !== 'string') return false;
    if (exact.has(address)) return true;
    if (ranges.length === 0) return false;
    const v4 = parseIPv4(address);
    if (v4 < 0) return false;
    for (const range of ranges) if (v4InRange(v4, range)) return true;
    return false;
  };
}

function strategyTest(strategy: Strategy, env: StrategyEnv): StrategyTest | undefined {
  switch (strategy.name) {
    case 'default':
      return ALWAYS;
    case 'flexibleRollout':
      return flexibleRollout(strategy, env);
    case 'userWithId': {
      const userIds = param(strategy, 'userIds');
      if (!userIds) return NEVER;
      const ids = stringSet(splitList(userIds));
      return (ctx) => {
        const userId = ctx.userId;
        return typeof userId === 'string' && ids[userId] === true;
      };
    }
    case 'remoteAddress':
      return remoteAddress(strategy);
    case 'applicationHostname': {
      const hostNames = param(strategy, 'hostNames');
      if (!hostNames || env.hostname === undefined) return NEVER;
      return splitList(hostNames.toLowerCase()).includes(env.hostname.toLowerCase()) ? ALWAYS : NEVER;
    }
    case 'gradualRolloutUserId':
      return gradualRollout(strategy, 'userId');
    case 'gradualRolloutSessionId':
      return gradualRollout(strategy, 'sessionId');
    case 'gradualRolloutRandom': {
      const percentage = Number(param(strategy, 'percentage'));
      const random = env.random;
      return () => percentage >= randomBucket(random);
    }
    default:
      return undefined;
  }
}

function matchReason(strategy: Strategy, hasConstraints: boolean): EvaluationReason {
  if (hasConstraints) return 'TARGETING_MATCH';
  switch (strategy.name) {
    case 'default':
      return 'STATIC';
    case 'flexibleRollout':
      return Number(param(strategy, 'rollout')) >= 100 ? 'STATIC' : 'SPLIT';
    case 'gradualRolloutUserId':
    case 'gradualRolloutSessionId':
    case 'gradualRolloutRandom':
      return Number(param(strategy, 'percentage')) >= 100 ? 'STATIC' : 'SPLIT';
    default:
      return 'TARGETING_MATCH';
  }
}

export function compileStrategy(
  strategy: Strategy,
  index: number,
  segments: ReadonlyMap<number, ConstraintMatcher[]>,
  env: StrategyEnv,
): CompiledStrategy {
  const constraints = (strategy.constraints ?? []).map((c) => compileConstraint(c, env));
  let missingSegment = false;
  for (const id of strategy.segments ?? []) {
    const segment = segments.get(Number(id));
    if (segment === undefined) missingSegment = true;
    else constraints.push(...segment);
  }
  const test = strategyTest(strategy, env);
  // Strategy variants hash with the strategy's groupId as the node SDK passes it (even when absent),
  // and the first variant's stickiness, else the strategy's.
  const variants = compileVariants(
    strategy.variants,
    String(strategy.parameters?.groupId),
    strategy.variants?.[0]?.stickiness || param(strategy, 'stickiness'),
  );
  return {
    index,
    name: strategy.name,
    id: strategy.id,
    constraints,
    never: missingSegment || test === undefined || test === NEVER,
    always: test === ALWAYS,
    test: test ?? NEVER,
    variants,
    reason: matchReason(strategy, constraints.length > 0),
  };
}

export function compileSegments(
  segments: readonly Segment[] | undefined,
  env: ConstraintEnv,
): Map<number, ConstraintMatcher[]> {
  const out = new Map<number, ConstraintMatcher[]>();
  for (const segment of segments ?? []) {
    out.set(
      Number(segment.id),
      (segment.constraints ?? []).map((c) => compileConstraint(c, env)),
    );
  }
  return out;
}
