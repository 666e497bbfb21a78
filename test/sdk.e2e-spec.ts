import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WavegateAuthError, WavegateClient, silentLogger, type WavegateClientOptions } from '@wavegate/sdk';
import { apiToken, createFlags } from './support/factories';
import { bearer, startTestApp, TestApp } from './support/test-app';

// @wavegate/sdk against the real Wavegate app listening on a port: ready, evaluation, updates through the
// stream, polling while the stream is cut (through a small proxy that can cut it), the cache file while
// Wavegate is down, metrics and error reports received.

/** A forwarding HTTP proxy in front of Wavegate that can cut and refuse the SSE stream, or go away entirely. */
class CuttableProxy {
  private server: Server | undefined;
  private readonly streams = new Set<ServerResponse>();
  blockStream = false;
  url = '';

  constructor(private readonly target: string) {}

  async start(): Promise<this> {
    const target = new URL(this.target);
    this.server = createServer((req, res) => {
      const isStream = (req.url ?? '').startsWith('/api/client/stream');
      if (isStream && this.blockStream) {
        res.writeHead(503).end();
        return;
      }
      const upstream = httpRequest(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          if (isStream) {
            this.streams.add(res);
            res.on('close', () => this.streams.delete(res));
          }
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      // A cut client side ends the upstream request too, as a real proxy does (Wavegate sees the stream close).
      res.on('close', () => upstream.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  cutStreams(): void {
    for (const res of this.streams) res.socket?.destroy();
    this.streams.clear();
  }

  async close(): Promise<void> {
    this.cutStreams();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('@wavegate/sdk against a running Wavegate (e2e)', () => {
  let t: TestApp;
  let base: string;
  let maker: string;
  let token: string;
  let dir: string;
  const clients: WavegateClient[] = [];
  const proxies: CuttableProxy[] = [];

  const client = (options: Partial<WavegateClientOptions> = {}): WavegateClient => {
    const c = new WavegateClient({
      url: base,
      token,
      appName: 'sdk-e2e',
      environment: 'development',
      logger: silentLogger,
      backoffMinMs: 50,
      backoffMaxMs: 200,
      ...options,
    });
    clients.push(c);
    return c;
  };

  const putFlag = async (key: string, body: Record<string, unknown>) => {
    const res = await t
      .http()
      .put(`/api/flags/${key}/environments/development`)
      .set(bearer(maker))
      .send(body);
    expect(res.status).toBe(200);
  };

  beforeAll(async () => {
    t = await startTestApp();
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    maker = (await t.userToken(['maker'])).token;
    await createFlags(t, maker, 'development', {
      'sdk-on': { enabled: true, strategies: [{ name: 'default' }] },
      'sdk-off': { enabled: false, strategies: [{ name: 'default' }] },
      'sdk-beta': { enabled: true, strategies: [{ name: 'userWithId', parameters: { userIds: 'u1,u2' } }] },
      'sdk-pro': {
        enabled: true,
        strategies: [
          {
            name: 'default',
            constraints: [{ contextName: 'plan', operator: 'IN', values: ['pro', 'enterprise'] }],
          },
        ],
      },
      'sdk-checkout': {
        enabled: true,
        strategies: [{ name: 'flexibleRollout', parameters: { rollout: 100, stickiness: 'tenantId' } }],
        variants: [
          { name: 'blue', weightType: 'variable', payload: { type: 'string', value: 'blue-button' } },
        ],
      },
    });
    token = await apiToken(t, 'client', 'development');
    dir = mkdtempSync(join(tmpdir(), 'wavegate-sdk-e2e-'));
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });

  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('becomes ready from the stream and evaluates like the server', async () => {
    const c = client();
    await c.ready(10_000);
    expect(c.status).toMatchObject({ connection: 'streaming', source: 'stream' });
    expect(c.flagNames.sort()).toEqual(['sdk-beta', 'sdk-checkout', 'sdk-off', 'sdk-on', 'sdk-pro']);
    expect(c.isEnabled('sdk-on')).toBe(true);
    expect(c.isEnabled('sdk-off')).toBe(false);
    expect(c.isEnabled('sdk-beta', { userId: 'u1' })).toBe(true);
    expect(c.isEnabled('sdk-beta', { userId: 'u9' })).toBe(false);
    expect(c.isEnabled('sdk-pro', { plan: 'pro' })).toBe(true);
    expect(c.isEnabled('sdk-pro', { properties: { plan: 'free' } })).toBe(false);
    expect(c.getVariant('sdk-checkout', { tenantId: 'acme' })).toMatchObject({
      name: 'blue',
      enabled: true,
      payload: { type: 'string', value: 'blue-button' },
    });
    expect(c.isEnabled('no-such-flag', {}, true)).toBe(true);
  });

  it('rejects ready() on a token Wavegate does not know', async () => {
    const c = client({ token: 'wgc_' + 'x'.repeat(43) });
    await expect(c.ready(10_000)).rejects.toBeInstanceOf(WavegateAuthError);
  });

  it('picks up a flag change through the stream', async () => {
    const c = client({ streaming: true, refreshIntervalMs: 60_000 });
    await c.ready(10_000);
    const updates: string[][] = [];
    c.on('update', (u) => updates.push(u.changed));
    expect(c.isEnabled('sdk-off')).toBe(false);
    const started = Date.now();
    await putFlag('sdk-off', { enabled: true, strategies: [{ name: 'default' }] });
    await eventually(() => c.isEnabled('sdk-off'), 5_000, 'the change through the stream');
    const latency = Date.now() - started;
    expect(c.status).toMatchObject({ connection: 'streaming', source: 'stream' });
    expect(updates).toContainEqual(['sdk-off']);
    expect(latency).toBeLessThan(2_000);
    await putFlag('sdk-off', { enabled: false, strategies: [{ name: 'default' }] });
    await eventually(() => !c.isEnabled('sdk-off'), 5_000, 'the change back');
  });

  it('falls back to polling when the stream is cut, and goes back to the stream', async () => {
    const proxy = await new CuttableProxy(base).start();
    proxies.push(proxy);
    const c = client({ url: proxy.url, refreshIntervalMs: 200 });
    await c.ready(10_000);
    expect(c.status.connection).toBe('streaming');
    proxy.blockStream = true;
    proxy.cutStreams();
    await eventually(() => c.status.connection === 'polling', 5_000, 'polling');
    await putFlag('sdk-beta', {
      enabled: true,
      strategies: [{ name: 'userWithId', parameters: { userIds: 'u9' } }],
    });
    await eventually(() => c.isEnabled('sdk-beta', { userId: 'u9' }), 5_000, 'the change by polling');
    expect(c.status).toMatchObject({ connection: 'polling', source: 'poll' });
    expect(proxy.openStreams).toBe(0);
    proxy.blockStream = false;
    await eventually(() => c.status.connection === 'streaming', 10_000, 'the stream again');
    await putFlag('sdk-beta', {
      enabled: true,
      strategies: [{ name: 'userWithId', parameters: { userIds: 'u1,u2' } }],
    });
    await eventually(
      () => !c.isEnabled('sdk-beta', { userId: 'u9' }),
      5_000,
      'the change through the stream again',
    );
    expect(c.isEnabled('sdk-beta', { userId: 'u1' })).toBe(true);
  });

  it('starts from its cache file while Wavegate is down', async () => {
    const cacheFile = join(dir, 'wavegate-flags.json');
    const first = client({ cacheFile });
    await first.ready(10_000);
    await first.close();
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { features: { name: string }[] };
    expect(cached.features.map((f) => f.name).sort()).toEqual(first.flagNames.sort());

    // Wavegate unreachable: a proxy that was there and is gone, so nothing listens on its port.
    const gone = await new CuttableProxy(base).start();
    await gone.close();
    const second = client({ url: gone.url, cacheFile, refreshIntervalMs: 60_000 });
    await second.ready(10_000);
    expect(second.status.source).toBe('cache');
    expect(second.isEnabled('sdk-on')).toBe(true);
    expect(second.isEnabled('sdk-beta', { userId: 'u1' })).toBe(true);
    expect(second.isEnabled('sdk-pro', { plan: 'enterprise' })).toBe(true);
  });

  it('sends metrics that Wavegate records per flag', async () => {
    const c = client({ appName: 'sdk-e2e-metrics', metricsIntervalMs: 60_000 });
    await c.ready(10_000);
    for (let i = 0; i < 25; i++) c.isEnabled('sdk-on');
    for (let i = 0; i < 5; i++) c.isEnabled('sdk-pro', { plan: 'free' });
    for (let i = 0; i < 3; i++) c.getVariant('sdk-checkout', { tenantId: `t${i}` });
    await c.flushMetrics();
    const metrics = async (key: string) => {
      const res = await t.http().get(`/api/flags/${key}/metrics`).set(bearer(maker));
      expect(res.status).toBe(200);
      const apps = (
        res.body.items as { appName: string; yes: number; no: number; variants: Record<string, number> }[]
      ).filter((b) => b.appName === 'sdk-e2e-metrics');
      return apps.reduce(
        (acc, b) => ({ yes: acc.yes + b.yes, no: acc.no + b.no, blue: acc.blue + (b.variants.blue ?? 0) }),
        { yes: 0, no: 0, blue: 0 },
      );
    };
    await eventually(async () => (await metrics('sdk-on')).yes === 25, 5_000, 'metrics recorded');
    expect(await metrics('sdk-pro')).toEqual({ yes: 0, no: 5, blue: 0 });
    expect(await metrics('sdk-checkout')).toEqual({ yes: 3, no: 0, blue: 3 });
  });

  it('sends error reports that Wavegate records as flag.error_reported signals', async () => {
    const c = client({ appName: 'sdk-e2e-errors', errorsIntervalMs: 60_000 });
    await c.ready(10_000);
    c.reportError('sdk-checkout', { tenantId: 'acme' }, new Error('payment failed'));
    await expect(
      c.withFlag('sdk-checkout', { tenantId: 'acme' }, async (on) => {
        if (on) throw new Error('payment failed again');
      }),
    ).rejects.toThrow('payment failed again');
    await c.flushErrors();
    const res = await t.http().get('/api/events?limit=1000').set(bearer(t.adminToken));
    expect(res.status).toBe(200);
    const reported = (
      res.body.items as { type: string; entityId: string; data: Record<string, unknown> }[]
    ).filter((e) => e.type === 'flag.error_reported');
    expect(reported).toContainEqual(
      expect.objectContaining({
        entityId: 'sdk-checkout',
        data: expect.objectContaining({
          tenantId: 'acme',
          count: 2,
          appName: 'sdk-e2e-errors',
          environment: 'development',
        }),
      }),
    );
  });
});
