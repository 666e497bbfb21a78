import { AddressInfo } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { compile, type ClientFeaturesResponse, type EvaluationContext } from '@wavegate/evaluation';
import { InMemStorageProvider, Unleash, UnleashEvents } from 'unleash-client';
import { bearer, startTestApp, TestApp } from './support/test-app';
import { destroyUnleash } from './support/unleash';

// The official Unleash node SDK against a running Wavegate: it must agree with Wavegate's own engine, send its
// metrics, and pick up changes; an SSE client must see a change promptly.

const FLAGS = 200;
const CONTEXTS = 1000;
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

const rnd = prng(20261129);
const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
const chance = (p: number) => rnd() < p;

const COUNTRIES = ['de', 'fr', 'us', 'jp', 'br'];
const PLANS = ['free', 'pro', 'enterprise'];
const TENANTS = Array.from({ length: 30 }, (_, i) => `tenant-${i}`);
const VERSIONS = ['1.0.0', '1.2.3', '2.0.0-beta.1', '2.0.0', '2.1.0', '3.0.0'];

function constraint(): Record<string, unknown> {
  const inverted = chance(0.15) ? { inverted: true } : {};
  switch (int(0, 9)) {
    case 0:
      return {
        contextName: 'country',
        operator: pick(['IN', 'NOT_IN']),
        values: COUNTRIES.filter(() => chance(0.4)).concat('de'),
        ...inverted,
      };
    case 1:
      return {
        contextName: 'email',
        operator: 'STR_ENDS_WITH',
        values: ['@acme.test'],
        caseInsensitive: chance(0.5),
        ...inverted,
      };
    case 2:
      return {
        contextName: 'email',
        operator: pick(['STR_STARTS_WITH', 'STR_CONTAINS']),
        values: [pick(['user-1', 'USER-2', '3@'])],
        caseInsensitive: chance(0.5),
        ...inverted,
      };
    case 3:
      return {
        contextName: 'score',
        operator: pick(['NUM_EQ', 'NUM_GT', 'NUM_GTE', 'NUM_LT', 'NUM_LTE']),
        value: String(int(0, 100)),
        ...inverted,
      };
    case 4:
      return {
        contextName: 'currentTime',
        operator: pick(['DATE_AFTER', 'DATE_BEFORE']),
        value: `2026-0${int(1, 9)}-15T12:00:00.000Z`,
        ...inverted,
      };
    case 5:
      return {
        contextName: 'appVersion',
        operator: pick(['SEMVER_EQ', 'SEMVER_GT', 'SEMVER_GTE', 'SEMVER_LT', 'SEMVER_LTE']),
        value: pick(VERSIONS),
        ...inverted,
      };
    case 6:
      return { contextName: 'plan', operator: 'IN', values: [pick(PLANS)], ...inverted };
    case 7:
      return {
        contextName: 'remoteAddress',
        operator: 'IN_CIDR',
        values: [pick(['10.0.0.0/8', '192.168.1.0/24', '10.1.2.3'])],
        ...inverted,
      };
    case 8:
      return {
        contextName: 'email',
        operator: 'REGEX',
        value: pick(['^user-[0-4]', '7@acme', '^USER']),
        caseInsensitive: chance(0.5),
        ...inverted,
      };
    default:
      return {
        contextName: 'tenantId',
        operator: 'IN',
        values: TENANTS.filter(() => chance(0.3)).concat('tenant-0'),
        ...inverted,
      };
  }
}

function variants(withOverrides: boolean): Array<Record<string, unknown>> {
  const n = int(0, 3);
  const stickiness = pick(['default', 'userId', 'tenantId']);
  return Array.from({ length: n }, (_, i) => ({
    name: `v${i}`,
    weightType: 'variable',
    stickiness,
    ...(chance(0.7)
      ? {
          payload: pick([
            { type: 'string', value: `s${i}` },
            { type: 'number', value: String(i * 10) },
            { type: 'json', value: JSON.stringify({ i }) },
          ]),
        }
      : {}),
    ...(withOverrides && chance(0.2)
      ? { overrides: [{ contextName: 'userId', values: ['user-1', 'user-2'] }] }
      : {}),
  }));
}

function strategy(segmentIds: number[]): Record<string, unknown> {
  const constraints = Array.from({ length: int(0, 2) }, constraint);
  const segments = chance(0.15) ? [pick(segmentIds)] : [];
  const common = { constraints, segments, ...(chance(0.3) ? { variants: variants(false) } : {}) };
  switch (int(0, 5)) {
    case 0:
      return { name: 'default', ...common };
    case 1:
    case 2:
      return {
        name: 'flexibleRollout',
        parameters: {
          rollout: int(0, 100),
          stickiness: pick(['default', 'userId', 'sessionId', 'tenantId']),
          groupId: chance(0.5) ? 'shared' : undefined,
        },
        ...common,
      };
    case 3:
      return {
        name: 'userWithId',
        parameters: { userIds: Array.from({ length: int(1, 5) }, () => `user-${int(0, 50)}`).join(',') },
        ...common,
      };
    case 4:
      return {
        name: 'tenantWithId',
        parameters: {
          tenantIds: TENANTS.filter(() => chance(0.3))
            .concat('tenant-1')
            .join(','),
        },
        ...common,
      };
    default:
      return chance(0.5)
        ? {
            name: 'remoteAddress',
            parameters: { IPs: pick(['10.0.0.0/16', '192.168.1.7, 10.1.2.3', '127.0.0.1']) },
            ...common,
          }
        : {
            name: 'applicationHostname',
            parameters: { hostNames: chance(0.5) ? HOSTNAME : 'elsewhere' },
            ...common,
          };
  }
}

function context(i: number): EvaluationContext {
  return {
    userId: `user-${i % 60}`,
    ...(chance(0.5) ? { sessionId: `s-${i}` } : {}),
    remoteAddress: pick(['10.0.3.4', '10.1.2.3', '192.168.1.7', '172.16.0.1', '127.0.0.1']),
    currentTime: new Date(Date.UTC(2026, int(0, 11), int(1, 28))).toISOString(),
    properties: {
      tenantId: pick(TENANTS),
      country: pick(COUNTRIES),
      email: `${pick(['user', 'USER'])}-${int(0, 9)}@${pick(['acme.test', 'ACME.TEST', 'other.test'])}`,
      score: String(int(0, 100)),
      appVersion: pick(VERSIONS),
      plan: pick(PLANS),
    },
  };
}

describe('Unleash client API with the official unleash-client SDK (e2e)', () => {
  let t: TestApp;
  let base: string;
  let maker: string;
  let token: string;
  let unleash: Unleash;

  beforeAll(async () => {
    t = await startTestApp();
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    maker = (await t.userToken(['maker'])).token;
    const segmentIds: number[] = [];
    for (const [name, c] of [
      ['pros', { contextName: 'plan', operator: 'IN', values: ['pro', 'enterprise'] }],
      ['modern', { contextName: 'appVersion', operator: 'SEMVER_GTE', value: '2.0.0' }],
    ] as const) {
      const res = await t
        .http()
        .post('/api/segments')
        .set(bearer(maker))
        .send({ name, constraints: [c] });
      expect(res.status).toBe(201);
      segmentIds.push(res.body.id as number);
    }
    for (let i = 0; i < FLAGS; i++) {
      const key = `flag-${String(i).padStart(3, '0')}`;
      const config = {
        enabled: i === 0 || chance(0.85),
        strategies:
          i === 0 ? [{ name: 'default' }] : Array.from({ length: int(0, 3) }, () => strategy(segmentIds)),
        variants: variants(true),
      };
      const dependencies =
        i > 10 && chance(0.1)
          ? [{ feature: `flag-00${int(1, 9)}`, ...(chance(0.3) ? { enabled: false } : {}) }]
          : [];
      const res = await t
        .http()
        .post('/api/flags')
        .set(bearer(maker))
        .send({ key, dependencies, environments: { development: config } });
      if (res.status !== 201) throw new Error(`${key}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    const tok = await t
      .http()
      .post('/api/tokens')
      .set(bearer(t.adminToken))
      .send({ name: 'sdk', kind: 'client', environment: 'development' });
    token = tok.body.token as string;
    unleash = new Unleash({
      url: `${base}/api/`,
      appName: 'agreement-test',
      instanceId: 'jest-1',
      // Unchanged SDK behaviour: the token is the whole Authorization header.
      customHeaders: { Authorization: token },
      refreshInterval: 200,
      metricsInterval: 60_000,
      storageProvider: new InMemStorageProvider(),
    });
    unleash.on(UnleashEvents.Error, () => undefined);
    await new Promise<void>((resolve, reject) => {
      unleash.once(UnleashEvents.Synchronized, () => resolve());
      setTimeout(() => reject(new Error('SDK did not synchronise')), 10_000).unref();
    });
  }, 180_000);

  afterAll(async () => {
    destroyUnleash(unleash);
    await t.close();
  });

  it(`isEnabled and getVariant agree with Wavegate's engine for ${FLAGS} flags across ${CONTEXTS} contexts`, async () => {
    const res = await fetch(`${base}/api/client/features`, { headers: { Authorization: token } });
    expect(res.status).toBe(200);
    const engine = compile((await res.json()) as ClientFeaturesResponse, { hostname: HOSTNAME });
    const names = Array.from({ length: FLAGS }, (_, i) => `flag-${String(i).padStart(3, '0')}`);
    const mismatches: string[] = [];
    let enabled = 0;
    let withVariant = 0;
    for (let c = 0; c < CONTEXTS; c++) {
      // Both run in this process: let the server and the SDK's poller breathe.
      if (c % 50 === 0) await new Promise((r) => setImmediate(r));
      const ctx = context(c);
      for (const name of names) {
        const a = unleash.isEnabled(name, ctx as never);
        const b = engine.isEnabled(name, ctx);
        const va = unleash.getVariant(name, ctx as never);
        const vb = engine.getVariant(name, ctx);
        if (a) enabled++;
        if (vb.enabled) withVariant++;
        const same =
          a === b &&
          va.name === vb.name &&
          va.enabled === vb.enabled &&
          va.feature_enabled === vb.feature_enabled &&
          JSON.stringify(va.payload ?? null) === JSON.stringify(vb.payload ?? null);
        if (!same && mismatches.length < 5) {
          mismatches.push(
            `${name} ${JSON.stringify(ctx)}: sdk ${a} ${JSON.stringify(va)} engine ${b} ${JSON.stringify(vb)}`,
          );
        }
      }
    }
    expect(mismatches).toEqual([]);
    // The generated set exercises both outcomes and variants.
    const total = FLAGS * CONTEXTS;
    expect(enabled).toBeGreaterThan(total * 0.1);
    expect(enabled).toBeLessThan(total * 0.9);
    expect(withVariant).toBeGreaterThan(total * 0.05);
  }, 120_000);

  it('its metrics arrive and are visible per flag', async () => {
    let sent = 0;
    unleash.on(UnleashEvents.Sent, () => sent++);
    // A failed send (e.g. a keep-alive socket the server closed meanwhile) keeps the bucket for the next one.
    for (let i = 0; i < 5 && sent === 0; i++) await unleash.flushMetrics();
    expect(sent).toBe(1);
    const m = await t.http().get('/api/flags/flag-000/metrics').set(bearer(maker));
    expect(m.status).toBe(200);
    // 1,000 isEnabled + 1,000 getVariant calls, all "yes" (flag-000 is on for everyone).
    expect(m.body.totals.yes).toBeGreaterThanOrEqual(CONTEXTS);
    expect(m.body.totals.no).toBe(0);
    expect(m.body.applications.map((a: { appName: string }) => a.appName)).toContain('agreement-test');
  });

  it('sees a flag change on its next poll', async () => {
    expect(unleash.isEnabled('flag-000', { userId: 'u' })).toBe(true);
    const changedAt = Date.now();
    await t
      .http()
      .put('/api/flags/flag-000/environments/development')
      .set(bearer(maker))
      .send({ enabled: false })
      .expect(200);
    while (unleash.isEnabled('flag-000', { userId: 'u' }) && Date.now() - changedAt < 5_000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(unleash.isEnabled('flag-000', { userId: 'u' })).toBe(false);
  });

  it('an SSE client gets the configuration on connect and an update promptly after a change', async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/api/client/stream`, {
      headers: { Authorization: `Bearer ${token}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    const nextEvent = async (): Promise<{ event?: string; id?: string; data?: string }> => {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const ev: { event?: string; id?: string; data?: string } = {};
          for (const line of block.split('\n')) {
            const i = line.indexOf(': ');
            if (line.startsWith('event: ')) ev.event = line.slice(7);
            else if (line.startsWith('id: ')) ev.id = line.slice(4);
            else if (line.startsWith('data: ')) ev.data = line.slice(i + 2);
          }
          if (ev.event) return ev;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buffer += decoder.decode(value, { stream: true });
      }
    };
    const connected = await nextEvent();
    expect(connected.event).toBe('unleash-connected');
    const config = JSON.parse(connected.data as string) as ClientFeaturesResponse;
    expect(config.features).toHaveLength(FLAGS);

    const started = performance.now();
    const put = t
      .http()
      .put('/api/flags/flag-001/environments/development')
      .set(bearer(maker))
      .send({ enabled: true, strategies: [] });
    const [updated] = await Promise.all([nextEvent(), put.then((r) => expect(r.status).toBe(200))]);
    const latency = performance.now() - started;
    expect(updated.event).toBe('unleash-updated');
    expect(updated.id).not.toBe(connected.id);
    const f = (JSON.parse(updated.data as string) as ClientFeaturesResponse).features.find(
      (x) => x.name === 'flag-001',
    );
    expect(f).toMatchObject({ enabled: true, strategies: [] });
    // Measured from sending the change to receiving the event (includes the write itself).
    console.log(`SSE update latency (request sent to event received): ${latency.toFixed(1)} ms`);
    expect(latency).toBeLessThan(1000);
    controller.abort();
  });
});
