// Local flag evaluation: @wavegate/sdk against unleash-client, @growthbook/growthbook and
// @launchdarkly/node-server-sdk, in one process, on the same 100-flag configuration translated into each SDK's
// own format with the same semantics, loaded offline from local data, each evaluating the same 1,000,000
// (flag, context) pairs after a warm-up. Prints ns/evaluation, the ratio of each peer to Wavegate, and the
// agreement of every SDK with Wavegate where the semantics are deterministic and equal.
//
//   npm run bench:sdk-eval            (builds packages/evaluation and packages/sdk, then runs the built SDK)
//   PAIRS=200000 ROUNDS=1 npm run bench:sdk-eval
import { GrowthBookClient } from '@growthbook/growthbook';
import { init as ldInit, integrations, type LDClient, type LDContext } from '@launchdarkly/node-server-sdk';
import { WavegateClient, silentLogger } from '@wavegate/sdk';
import type { ClientFeature, ClientFeaturesResponse, Constraint, Strategy } from '@wavegate/evaluation';
import { cpus } from 'node:os';
import { InMemStorageProvider, Unleash } from 'unleash-client';

const FLAGS = 100;
const CONTEXTS = 2_000;
const PAIRS = Number(process.env.PAIRS ?? 1_000_000);
const WARMUP = Number(process.env.WARMUP ?? 300_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);

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
const rnd = prng(20261129);
const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];

const PLANS = ['free', 'pro', 'enterprise'];
const VERSIONS = ['1.0.0', '1.2.3', '2.0.0', '2.1.0', '2.10.1', '3.0.0'];
const USERS = Array.from({ length: 500 }, (_, i) => `user-${i}`);
const TENANTS = Array.from({ length: 50 }, (_, i) => `tenant-${i}`);

// ---- the configuration, in Wavegate's (Unleash's) format ----

interface FlagSpec {
  feature: ClientFeature;
  // Percentages strictly between 0 and 100 hash differently in each SDK: not comparable across vendors.
  hashed: boolean;
  variants: boolean;
}

function constraintOf(kind: number): Constraint {
  switch (kind) {
    case 0:
      return {
        contextName: 'plan',
        operator: 'IN',
        values: PLANS.filter(() => rnd() < 0.5).concat(pick(PLANS)),
      };
    case 1:
      return { contextName: 'email', operator: 'STR_CONTAINS', values: [pick(['@acme', 'user-1', 'ops'])] };
    case 2:
      return { contextName: 'score', operator: 'NUM_GT', value: String(int(10, 90)) };
    default:
      return { contextName: 'appVersion', operator: 'SEMVER_GT', value: pick(VERSIONS.slice(0, 5)) };
  }
}

function buildFlags(): FlagSpec[] {
  const specs: FlagSpec[] = [];
  for (let i = 0; i < FLAGS; i++) {
    const name = `flag-${String(i).padStart(3, '0')}`;
    const strategies: Strategy[] = [];
    let hashed = false;
    let enabled = true;
    const kind = i % 10;
    switch (kind) {
      case 0:
        enabled = false;
        strategies.push({ name: 'default', parameters: {}, constraints: [] });
        break;
      case 1:
        strategies.push({ name: 'default', parameters: {}, constraints: [] });
        break;
      case 2: // 100 %: deterministic, whatever the hash
        strategies.push({
          name: 'flexibleRollout',
          parameters: { rollout: '100', stickiness: 'tenantId', groupId: name },
          constraints: [constraintOf(0)],
        });
        break;
      case 3:
        hashed = true;
        strategies.push({
          name: 'flexibleRollout',
          parameters: {
            rollout: String(int(10, 90)),
            stickiness: pick(['userId', 'tenantId']),
            groupId: name,
          },
          constraints: [],
        });
        break;
      case 4:
        strategies.push({
          name: 'userWithId',
          parameters: { userIds: USERS.filter(() => rnd() < 0.05).join(',') },
          constraints: [],
        });
        break;
      case 5:
      case 6:
      case 7:
        strategies.push({ name: 'default', parameters: {}, constraints: [constraintOf(kind - 4)] });
        break;
      case 8:
        strategies.push({
          name: 'default',
          parameters: {},
          constraints: [constraintOf(int(0, 3)), constraintOf(int(0, 3))],
        });
        break;
      default:
        strategies.push({
          name: 'userWithId',
          parameters: { userIds: USERS.filter(() => rnd() < 0.05).join(',') },
          constraints: [],
        });
        strategies.push({ name: 'default', parameters: {}, constraints: [constraintOf(int(0, 3))] });
        break;
    }
    // Some flags with variants (on the deterministic kinds, so that "enabled" stays comparable everywhere).
    const variants =
      [1, 5, 8, 9].includes(kind) && i % 20 < 10
        ? ['blue', 'green', 'red'].slice(0, int(2, 3)).map((v, k) => ({
            name: v,
            weight: k === 0 ? 500 : 250,
            weightType: 'fix',
            stickiness: 'userId',
            payload: { type: 'string', value: `${v}-button` },
          }))
        : [];
    if (variants.length === 2) variants[1].weight = 500;
    specs.push({
      feature: { name, enabled, type: 'release', strategies, variants, impressionData: false },
      hashed,
      variants: variants.length > 0,
    });
  }
  return specs;
}

// ---- contexts: every SDK gets the same facts in its own shape ----

interface Facts {
  userId: string;
  tenantId: string;
  plan?: string;
  email?: string;
  score?: number;
  appVersion?: string;
}

function buildFacts(): Facts[] {
  return Array.from({ length: CONTEXTS }, () => {
    const userId = pick(USERS);
    const f: Facts = { userId, tenantId: pick(TENANTS) };
    if (rnd() < 0.8) f.plan = pick(PLANS);
    if (rnd() < 0.7) f.email = `${userId}@${pick(['acme.test', 'globex.test', 'ops.acme.test'])}`;
    if (rnd() < 0.8) f.score = int(0, 100);
    if (rnd() < 0.8) f.appVersion = pick(VERSIONS);
    return f;
  });
}

const unleashContext = (f: Facts) => {
  const properties: Record<string, string> = { tenantId: f.tenantId };
  if (f.plan !== undefined) properties.plan = f.plan;
  if (f.email !== undefined) properties.email = f.email;
  if (f.score !== undefined) properties.score = String(f.score);
  if (f.appVersion !== undefined) properties.appVersion = f.appVersion;
  return { userId: f.userId, properties };
};

const growthbookAttributes = (f: Facts) => {
  const a: Record<string, string | number> = { id: f.userId, tenantId: f.tenantId };
  if (f.plan !== undefined) a.plan = f.plan;
  if (f.email !== undefined) a.email = f.email;
  if (f.score !== undefined) a.score = f.score;
  if (f.appVersion !== undefined) a.appVersion = f.appVersion;
  return a;
};

const launchDarklyContext = (f: Facts): LDContext => {
  const c: LDContext = { kind: 'user', key: f.userId, tenantId: f.tenantId };
  if (f.plan !== undefined) c.plan = f.plan;
  if (f.email !== undefined) c.email = f.email;
  if (f.score !== undefined) c.score = f.score;
  if (f.appVersion !== undefined) c.appVersion = f.appVersion;
  return c;
};

// ---- translations ----

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const attributeOf = (contextName: string) => (contextName === 'userId' ? 'id' : contextName);

function growthbookCondition(
  constraints: Constraint[],
  userIds?: string[],
): Record<string, unknown> | undefined {
  const parts: Record<string, unknown>[] = [];
  if (userIds !== undefined) parts.push({ id: { $in: userIds } });
  for (const c of constraints) {
    const attr = attributeOf(c.contextName);
    switch (c.operator) {
      case 'IN':
        parts.push({ [attr]: { $in: c.values } });
        break;
      case 'STR_CONTAINS':
        parts.push({ $or: (c.values ?? []).map((v) => ({ [attr]: { $regex: escapeRegex(v) } })) });
        break;
      case 'NUM_GT':
        parts.push({ [attr]: { $gt: Number(c.value) } });
        break;
      case 'SEMVER_GT':
        parts.push({ [attr]: { $vgt: c.value } });
        break;
      default:
        throw new Error(`no GrowthBook translation for ${c.operator}`);
    }
  }
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : { $and: parts };
}

function toGrowthBook(specs: FlagSpec[]) {
  const features: Record<string, unknown> = {};
  for (const { feature, variants } of specs) {
    const off = variants ? 'disabled' : false;
    const rules: Record<string, unknown>[] = [];
    for (const s of feature.enabled ? (feature.strategies ?? []) : []) {
      const userIds = s.name === 'userWithId' ? String(s.parameters?.userIds ?? '').split(',') : undefined;
      const condition = growthbookCondition(s.constraints ?? [], userIds);
      const rollout = s.name === 'flexibleRollout' ? Number(s.parameters?.rollout) : 100;
      if (rollout <= 0) continue;
      const rule: Record<string, unknown> = condition === undefined ? {} : { condition };
      if (variants) {
        const defs = feature.variants ?? [];
        const total = defs.reduce((n, v) => n + v.weight, 0);
        Object.assign(rule, {
          key: feature.name,
          variations: defs.map((v) => v.name),
          weights: defs.map((v) => v.weight / total),
          hashAttribute: 'id',
        });
      } else {
        rule.force = true;
        if (rollout < 100) {
          rule.coverage = rollout / 100;
          rule.hashAttribute = attributeOf(String(s.parameters?.stickiness ?? 'userId'));
        }
      }
      rules.push(rule);
    }
    features[feature.name] = { defaultValue: off, rules };
  }
  return features;
}

function launchDarklyClauses(constraints: Constraint[]) {
  return constraints.map((c) => {
    const op = { IN: 'in', STR_CONTAINS: 'contains', NUM_GT: 'greaterThan', SEMVER_GT: 'semVerGreaterThan' }[
      c.operator as string
    ];
    if (op === undefined) throw new Error(`no LaunchDarkly translation for ${c.operator}`);
    const values = c.operator === 'NUM_GT' ? [Number(c.value)] : (c.values ?? [c.value]);
    return { contextKind: 'user', attribute: c.contextName, op, values, negate: false };
  });
}

function toLaunchDarkly(specs: FlagSpec[]) {
  return specs.map(({ feature, variants }) => {
    const defs = feature.variants ?? [];
    const variations: unknown[] = variants ? ['disabled', ...defs.map((v) => v.name)] : [false, true];
    const total = defs.reduce((n, v) => n + v.weight, 0);
    // What a matching strategy serves: true, or a split over the variants by userId.
    const serve = variants
      ? {
          rollout: {
            contextKind: 'user',
            bucketBy: 'key',
            variations: defs.map((v, k) => ({
              variation: k + 1,
              weight: Math.round((v.weight / total) * 100_000),
            })),
          },
        }
      : { variation: 1 };
    const rules: Record<string, unknown>[] = [];
    let fallthrough: Record<string, unknown> = { variation: 0 };
    for (const [k, s] of (feature.strategies ?? []).entries()) {
      const clauses = launchDarklyClauses(s.constraints ?? []);
      if (s.name === 'userWithId')
        clauses.unshift({
          contextKind: 'user',
          attribute: 'key',
          op: 'in',
          values: String(s.parameters?.userIds ?? '').split(','),
          negate: false,
        });
      const rollout = s.name === 'flexibleRollout' ? Number(s.parameters?.rollout) : 100;
      if (rollout <= 0) continue;
      if (rollout < 100) {
        const stickiness = String(s.parameters?.stickiness ?? 'userId');
        rules.push({
          id: `r${k}`,
          clauses,
          rollout: {
            contextKind: 'user',
            bucketBy: stickiness === 'userId' ? 'key' : stickiness,
            variations: [
              { variation: 1, weight: rollout * 1000 },
              { variation: 0, weight: (100 - rollout) * 1000 },
            ],
          },
        });
      } else if (clauses.length === 0) fallthrough = serve;
      else rules.push({ id: `r${k}`, clauses, ...serve });
    }
    return {
      key: feature.name,
      version: 1,
      on: feature.enabled,
      salt: feature.name,
      variations,
      offVariation: 0,
      fallthrough,
      rules,
      targets: [],
      contextTargets: [],
      prerequisites: [],
      trackEvents: false,
      trackEventsFallthrough: false,
      clientSide: false,
      deleted: false,
    };
  });
}

// ---- running ----

type Evaluate = (flag: number, context: number) => unknown;
type Outcome = (flag: number, context: number) => boolean | string | Promise<boolean | string>;

interface Sdk {
  name: string;
  // Timed: one evaluation, the call a service makes.
  sync?: Evaluate;
  async?: (flag: number, context: number) => Promise<unknown>;
  // Not timed: the comparable outcome (enabled, or the variant name / "disabled").
  outcome: Outcome;
}

function time(sdk: Sdk, flagIdx: Uint8Array, ctxIdx: Uint16Array, n: number): Promise<number> | number {
  if (sdk.sync !== undefined) {
    const f = sdk.sync;
    let sink = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (f(flagIdx[i], ctxIdx[i])) sink++;
    const ns = Number(process.hrtime.bigint() - start);
    if (sink < 0) console.log(sink);
    return ns / n;
  }
  const f = sdk.async!;
  return (async () => {
    let sink = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (await f(flagIdx[i], ctxIdx[i])) sink++;
    const ns = Number(process.hrtime.bigint() - start);
    if (sink < 0) console.log(sink);
    return ns / n;
  })();
}

async function main(): Promise<void> {
  const specs = buildFlags();
  const names = specs.map((s) => s.feature.name);
  const config: ClientFeaturesResponse = { version: 2, features: specs.map((s) => s.feature), segments: [] };
  const facts = buildFacts();
  const flagIdx = new Uint8Array(PAIRS);
  const ctxIdx = new Uint16Array(PAIRS);
  for (let i = 0; i < PAIRS; i++) {
    flagIdx[i] = Math.floor(rnd() * FLAGS);
    ctxIdx[i] = Math.floor(rnd() * CONTEXTS);
  }
  const isVariant = specs.map((s) => s.variants);

  // Wavegate: offline from the same JSON Wavegate serves; metrics counted in memory as in production.
  const wavegate = new WavegateClient({
    url: 'http://127.0.0.1:9',
    token: 'unused',
    appName: 'bench',
    offline: true,
    bootstrap: config,
    logger: silentLogger,
  });
  await wavegate.ready(5000);
  const wgCtx = facts.map(unleashContext);

  // Instruction counting (bench/sdk-eval-instructions.sh runs this under callgrind twice, with 0 and with N extra
  // evaluations, and divides the difference by N): @wavegate/sdk only, the same pairs, no timing.
  const counted = process.env.SDK_EVAL_INSTRUCTIONS;
  if (counted !== undefined) {
    const one = (i: number) =>
      isVariant[flagIdx[i]]
        ? wavegate.getVariant(names[flagIdx[i]], wgCtx[ctxIdx[i]])
        : wavegate.isEnabled(names[flagIdx[i]], wgCtx[ctxIdx[i]]);
    let sink = 0;
    for (let round = 0; round < 3; round++)
      for (let i = 0; i < Math.min(WARMUP, PAIRS); i++) if (one(i)) sink++;
    for (let i = 0; i < Number(counted); i++) if (one(i % PAIRS)) sink++;
    console.log(`evaluated; sink ${sink}`);
    await wavegate.close();
    return;
  }

  // unleash-client: bootstrap, no fetching (refreshInterval 0), metrics counted (never sent in this run).
  const unleash = new Unleash({
    url: 'http://127.0.0.1:9/api/',
    appName: 'bench',
    refreshInterval: 0,
    metricsInterval: 3_600_000,
    bootstrap: { data: config.features as never },
    storageProvider: new InMemStorageProvider(),
    skipInstanceCountWarning: true,
  });
  unleash.on('error', () => undefined);
  unleash.on('warn', () => undefined);
  await new Promise<void>((resolve) => {
    if (unleash.isSynchronized()) resolve();
    else unleash.once('ready', () => resolve());
  });
  const unCtx = wgCtx;

  // GrowthBook: the multi-user server client, initialised synchronously from a features payload.
  const growthbook = new GrowthBookClient().initSync({ payload: { features: toGrowthBook(specs) as never } });
  const gbCtx = facts.map((f) => ({ attributes: growthbookAttributes(f) }));

  // LaunchDarkly: TestData data source with the full flag data model; no events, no network.
  const td = new integrations.TestData();
  for (const flag of toLaunchDarkly(specs)) await td.usePreconfiguredFlag(flag);
  const ld: LDClient = ldInit('sdk-key-bench', {
    updateProcessor: td.getFactory(),
    sendEvents: false,
    diagnosticOptOut: true,
    logger: { debug() {}, info() {}, warn() {}, error: (m: unknown) => console.error(m) },
  });
  await ld.waitForInitialization({ timeout: 10 });
  const ldCtx = facts.map(launchDarklyContext);

  const sdks: Sdk[] = [
    {
      name: '@wavegate/sdk',
      sync: (f, c) =>
        isVariant[f] ? wavegate.getVariant(names[f], wgCtx[c]) : wavegate.isEnabled(names[f], wgCtx[c]),
      outcome: (f, c) =>
        isVariant[f] ? wavegate.getVariant(names[f], wgCtx[c]).name : wavegate.isEnabled(names[f], wgCtx[c]),
    },
    {
      name: 'unleash-client',
      sync: (f, c) =>
        isVariant[f] ? unleash.getVariant(names[f], unCtx[c]) : unleash.isEnabled(names[f], unCtx[c]),
      outcome: (f, c) =>
        isVariant[f] ? unleash.getVariant(names[f], unCtx[c]).name : unleash.isEnabled(names[f], unCtx[c]),
    },
    {
      name: '@growthbook/growthbook',
      sync: (f, c) =>
        isVariant[f]
          ? growthbook.getFeatureValue(names[f], 'disabled', gbCtx[c])
          : growthbook.isOn(names[f], gbCtx[c]),
      outcome: (f, c) =>
        isVariant[f]
          ? (growthbook.getFeatureValue(names[f], 'disabled', gbCtx[c]) as string)
          : growthbook.isOn(names[f], gbCtx[c]),
    },
    {
      name: '@launchdarkly/node-server-sdk',
      async: (f, c) => ld.variation(names[f], ldCtx[c], isVariant[f] ? 'disabled' : false),
      outcome: async (f, c) =>
        (await ld.variation(names[f], ldCtx[c], isVariant[f] ? 'disabled' : false)) as string | boolean,
    },
  ];

  // ---- agreement, on every distinct (flag, context) pair ----
  const enabledOf = (o: boolean | string) => (typeof o === 'string' ? o !== 'disabled' : o);
  const reference: (boolean | string)[][] = [];
  for (let f = 0; f < FLAGS; f++) {
    reference.push([]);
    for (let c = 0; c < CONTEXTS; c++) reference[f].push(await sdks[0].outcome(f, c));
  }
  const agreement: string[] = [];
  for (const sdk of sdks.slice(1)) {
    let compared = 0;
    let disagreements = 0;
    let skippedHashed = 0;
    const examples: string[] = [];
    const sameHash = sdk.name === 'unleash-client';
    for (let f = 0; f < FLAGS; f++) {
      for (let c = 0; c < CONTEXTS; c++) {
        const theirs = await sdk.outcome(f, c);
        const ours = reference[f][c];
        // Percentage rollouts and variant splits hash with each vendor's own function and seed: only
        // unleash-client (the same MurmurHash3 and seeds) is comparable there.
        if (specs[f].hashed && !sameHash) {
          skippedHashed++;
          continue;
        }
        const equal = sameHash ? theirs === ours : enabledOf(theirs) === enabledOf(ours);
        compared++;
        if (!equal) {
          disagreements++;
          if (examples.length < 3)
            examples.push(`${names[f]} ctx#${c}: wavegate=${ours} ${sdk.name}=${theirs}`);
        }
      }
    }
    agreement.push(
      `${sdk.name}: ${disagreements} disagreements in ${compared} comparisons` +
        (sameHash
          ? ' (outcome incl. variant name)'
          : ` (enabled; ${skippedHashed} percentage-rollout pairs not comparable)`) +
        (examples.length > 0 ? `\n    e.g. ${examples.join('\n    e.g. ')}` : ''),
    );
  }

  // ---- timing ----
  const best = new Map<string, number>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const sdk of sdks) {
      await time(sdk, flagIdx, ctxIdx, Math.min(WARMUP, PAIRS));
      const ns = await time(sdk, flagIdx, ctxIdx, PAIRS);
      best.set(sdk.name, Math.min(best.get(sdk.name) ?? Infinity, ns));
    }
  }

  const wg = best.get('@wavegate/sdk')!;
  const fastestPeer = Math.min(...sdks.slice(1).map((s) => best.get(s.name)!));
  console.log(
    `sdk-eval: ${FLAGS} flags, ${CONTEXTS} contexts, ${PAIRS.toLocaleString('en')} (flag, context) pairs per run, ` +
      `best of ${ROUNDS} rounds after ${Math.min(WARMUP, PAIRS).toLocaleString('en')} warm-up evaluations; ` +
      `node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'})`,
  );
  console.log('');
  console.log('| SDK | ns/eval | evals/s | ratio vs Wavegate |');
  console.log('|---|---:|---:|---:|');
  for (const sdk of sdks) {
    const ns = best.get(sdk.name)!;
    console.log(
      `| ${sdk.name} | ${ns.toFixed(1)} | ${Math.round(1e9 / ns).toLocaleString('en')} | ${(ns / wg).toFixed(2)}x |`,
    );
  }
  console.log('');
  console.log(`Wavegate vs the fastest peer: ${(fastestPeer / wg).toFixed(2)}x faster`);
  console.log('Agreement with @wavegate/sdk:');
  for (const line of agreement) console.log(`  ${line}`);

  await wavegate.close();
  unleash.destroy();
  ld.close();
  growthbook.destroy();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
