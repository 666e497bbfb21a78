// Differential test: random flag sets and contexts, evaluated by this engine and by the official Unleash
// node SDK's client (its own evaluator, fed the same features through an in-memory repository).
// Generated flags avoid Unleash's truly random paths (random stickiness, gradualRolloutRandom, variant
// stickiness without a value), where two correct engines may disagree by design.
import { hostname as osHostname } from 'node:os';
import { compile } from './index';
import type {
  ClientFeature,
  ClientFeaturesResponse,
  Constraint,
  EvaluationContext,
  Segment,
  Strategy,
  VariantDefinition,
} from './index';

interface NodeSdkClient {
  isEnabled(name: string, context: EvaluationContext, fallback: () => boolean): boolean;
  getVariant(name: string, context: EvaluationContext): Record<string, unknown>;
}
type NodeSdkClientClass = new (
  repository: { getToggle(name: string): unknown; getSegment(id: number): unknown },
  strategies: unknown[],
) => NodeSdkClient;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const UnleashClient = (require('unleash-client/lib/client') as { default: NodeSdkClientClass }).default;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultStrategies } = require('unleash-client/lib/strategy') as { defaultStrategies: unknown[] };

// The node SDK reads the host name from the environment; give the engine the same one.
const HOSTNAME = (process.env.HOSTNAME || osHostname() || 'undefined').toLowerCase();

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(readonly next: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  some<T>(items: readonly T[], max: number): T[] {
    const n = this.int(0, max);
    const out: T[] = [];
    for (let k = 0; k < n; k++) out.push(this.pick(items));
    return out;
  }
}

const USER_IDS = ['1', '2', '17', '42', '123', '999', 'alice', 'bob', 'Ünïcødé', 'user-7'];
const SESSIONS = ['s1', 's2', 'sess-abc', '9f86d081'];
const TENANTS = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'Stark'];
const EMAILS = ['a@acme.com', 'B@ACME.COM', 'c@globex.io', 'x@example.org', 'weird@@mail', ''];
const VERSIONS = [
  '1.0.0',
  '1.2.2',
  '1.2.3',
  '2.0.0-alpha.1',
  '2.0.0-beta',
  '2.0.0',
  'v2.0.0',
  '10.1.0',
  'bad',
  '',
];
const NUMBERS = ['0', '1', '3.14', '12', '12.0', '100', '-5', 'abc', '', ' 7 '];
const IPS = [
  '127.0.0.1',
  '10.1.2.3',
  '192.168.1.42',
  '160.33.0.33',
  '2001:db8::1',
  '2001:db9::1',
  '::1',
  'bad',
];
const TIMES = ['2022-01-20T00:00:00.000Z', '2022-01-25T13:00:00.000Z', '2030-01-01T00:00:00Z', 'not a date'];
const ENVS = ['development', 'staging', 'production'];
const FIELDS = [
  'userId',
  'sessionId',
  'environment',
  'appName',
  'remoteAddress',
  'tenantId',
  'email',
  'version',
  'n',
];

function constraint(g: Gen): Constraint {
  const op = g.pick([
    'IN',
    'NOT_IN',
    'STR_STARTS_WITH',
    'STR_ENDS_WITH',
    'STR_CONTAINS',
    'NUM_EQ',
    'NUM_GT',
    'NUM_GTE',
    'NUM_LT',
    'NUM_LTE',
    'DATE_AFTER',
    'DATE_BEFORE',
    'SEMVER_EQ',
    'SEMVER_GT',
    'SEMVER_GTE',
    'SEMVER_LT',
    'SEMVER_LTE',
    'REGEX',
    'IN_CIDR',
    'NOT_A_REAL_OPERATOR',
  ]);
  const base = { operator: op, inverted: g.chance(0.2), caseInsensitive: g.chance(0.3) };
  if (op === 'IN' || op === 'NOT_IN') {
    const contextName = g.pick(FIELDS);
    const pool = [...USER_IDS, ...TENANTS, ...ENVS, ...EMAILS, ' acme ', '1'];
    return { ...base, contextName, values: g.some(pool, 4) };
  }
  if (op.startsWith('STR_')) {
    return {
      ...base,
      contextName: g.pick(['email', 'tenantId', 'userId']),
      values: g.some(['a', 'ACME', '.com', 'glo', 'ünï', ''], 3),
    };
  }
  if (op.startsWith('NUM_')) return { ...base, contextName: 'n', value: g.pick(NUMBERS) };
  if (op.startsWith('DATE_')) return { ...base, contextName: 'currentTime', value: g.pick(TIMES) };
  if (op.startsWith('SEMVER_')) return { ...base, contextName: 'version', value: g.pick(VERSIONS) };
  if (op === 'REGEX') {
    const value = g.pick([
      '^a',
      'acme\\.com$',
      '(?i)^ACME',
      '[[:digit:]]+',
      '^(foo|bar)',
      '(a',
      '^\\w+@\\w+\\.\\w+$',
    ]);
    return { ...base, contextName: g.pick(['email', 'tenantId', 'userId']), value };
  }
  if (op === 'IN_CIDR') {
    const values = g.some(['127.0.0.1', '10.0.0.0/8', '192.168.1.0/24', '2001:db8::/32', 'nope', '::1'], 3);
    return { ...base, contextName: 'remoteAddress', values };
  }
  return { ...base, contextName: 'userId', values: ['1'] };
}

function variants(g: Gen, withOverrides: boolean): VariantDefinition[] {
  const n = g.int(0, 4);
  const stickiness = g.pick([undefined, 'default', 'userId', 'tenantId']);
  const out: VariantDefinition[] = [];
  for (let k = 0; k < n; k++) {
    const v: VariantDefinition = { name: `v${k}`, weight: g.pick([0, 1, 33, 50, 100, 250]) };
    if (stickiness !== undefined) v.stickiness = stickiness;
    if (g.chance(0.7)) v.payload = { type: g.pick(['string', 'json', 'number']), value: `p${k}` };
    if (withOverrides && g.chance(0.3))
      v.overrides = [{ contextName: 'userId', values: g.some(USER_IDS, 2) }];
    out.push(v);
  }
  return out;
}

function strategy(g: Gen, segmentIds: number[]): Strategy {
  const name = g.pick([
    'default',
    'flexibleRollout',
    'flexibleRollout',
    'userWithId',
    'remoteAddress',
    'applicationHostname',
    'gradualRolloutUserId',
    'gradualRolloutSessionId',
    'someCustomStrategy',
  ]);
  const parameters: Record<string, string> = {};
  if (name === 'flexibleRollout') {
    parameters.rollout = String(g.pick([0, 1, 10, 33, 50, 75, 99, 100]));
    parameters.stickiness = g.pick(['default', 'userId', 'sessionId', 'tenantId']);
    if (g.chance(0.8)) parameters.groupId = g.pick(['g1', 'flag', 'Ünïcødé-group']);
  }
  if (name === 'userWithId') parameters.userIds = g.some(USER_IDS, 4).join(g.pick([',', ', ', ' , ']));
  if (name === 'remoteAddress')
    parameters.IPs = g.some([...IPS, '10.0.0.0/8', '192.168.0.0/16'], 3).join(', ');
  if (name === 'applicationHostname') parameters.hostNames = g.pick(['', 'elsewhere', `other,${HOSTNAME}`]);
  if (name.startsWith('gradualRollout')) {
    parameters.percentage = String(g.pick([0, 25, 50, 100]));
    parameters.groupId = 'legacy';
  }
  const s: Strategy = { name, parameters, constraints: g.some([0], 3).map(() => constraint(g)) };
  if (g.chance(0.25)) s.segments = g.some(segmentIds, 2);
  // Strategy variants only with the stickiness the node SDK can always resolve in these contexts.
  if (g.chance(0.3)) s.variants = variants(g, false).filter((v) => v.stickiness !== 'default');
  return s;
}

function featureSet(seed: number, flagCount: number): ClientFeaturesResponse {
  const g = new Gen(prng(seed));
  const segments: Segment[] = [];
  for (let id = 1; id <= 5; id++) segments.push({ id, constraints: g.some([0], 2).map(() => constraint(g)) });
  const segmentIds = [1, 2, 3, 4, 5, 404];
  const features: ClientFeature[] = [];
  for (let k = 0; k < flagCount; k++) {
    const f: ClientFeature = {
      name: `flag.${k}`,
      enabled: g.chance(0.85),
      strategies: g.some([0], 3).map(() => strategy(g, segmentIds)),
      variants: variants(g, true),
    };
    if (k > 3 && g.chance(0.15)) {
      f.dependencies = [
        {
          feature: `flag.${g.int(0, k + 2)}`,
          ...(g.chance(0.3) ? { enabled: false } : {}),
          ...(g.chance(0.3) ? { variants: g.some(['v0', 'v1', 'disabled'], 2) } : {}),
        },
      ];
    }
    features.push(f);
  }
  return { version: 2, features, segments, query: {} };
}

function context(g: Gen): EvaluationContext {
  const ctx: EvaluationContext = {
    // Always a userId and a tenantId, so that no stickiness falls back to a random value.
    userId: g.pick(USER_IDS),
    environment: g.pick(ENVS),
    appName: g.pick(['web', 'api', 'worker']),
    currentTime: g.pick(TIMES),
    properties: {
      tenantId: g.pick(TENANTS),
      email: g.pick(EMAILS),
      version: g.pick(VERSIONS),
      n: g.pick(NUMBERS),
    },
  };
  if (g.chance(0.5)) ctx.sessionId = g.pick(SESSIONS);
  if (g.chance(0.7)) ctx.remoteAddress = g.pick(IPS);
  return ctx;
}

// Field order differs between the two; the SDK also sets the deprecated `featureEnabled`.
function canonical(v: object): string {
  const { name, enabled, payload, feature_enabled } = v as Record<string, unknown>;
  return JSON.stringify({ name, enabled, feature_enabled, payload });
}

describe('parity with the Unleash node SDK', () => {
  it.each([1, 2, 3, 4])(
    'agrees on isEnabled and getVariant for 150 random flags x 150 contexts (seed %i)',
    (seed) => {
      const response = featureSet(seed, 150);
      const byName = new Map(response.features.map((f) => [f.name, f]));
      const segments = new Map((response.segments ?? []).map((s) => [s.id, s]));
      const sdk = new UnleashClient(
        { getToggle: (name) => byName.get(name), getSegment: (id) => segments.get(id) },
        defaultStrategies,
      );
      const evaluator = compile(response, { hostname: HOSTNAME });
      const g = new Gen(prng(seed * 7919));
      const contexts = Array.from({ length: 150 }, () => context(g));
      const mismatches: string[] = [];
      let enabled = 0;
      let withVariant = 0;
      for (const f of response.features) {
        for (const ctx of contexts) {
          const expected = sdk.isEnabled(f.name, ctx, () => false);
          if (expected) enabled++;
          if (evaluator.isEnabled(f.name, ctx) !== expected) {
            mismatches.push(`isEnabled ${f.name} ${JSON.stringify(ctx)}: sdk ${expected}`);
          }
          const expectedVariant = canonical(sdk.getVariant(f.name, ctx));
          const variant = canonical(evaluator.getVariant(f.name, ctx));
          if (evaluator.getVariant(f.name, ctx).enabled) withVariant++;
          if (variant !== expectedVariant) {
            mismatches.push(
              `getVariant ${f.name} ${JSON.stringify(ctx)}: sdk ${expectedVariant}, engine ${variant}`,
            );
          }
        }
      }
      expect(mismatches.slice(0, 5)).toEqual([]);
      // The generated flags exercise both outcomes and real variants, so agreement means something.
      const total = response.features.length * contexts.length;
      expect(enabled / total).toBeGreaterThan(0.1);
      expect(enabled / total).toBeLessThan(0.9);
      expect(withVariant / total).toBeGreaterThan(0.05);
    },
  );
});
