import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  WavegateAuthError,
  WavegateClient,
  silentLogger,
  type MetricsBody,
  type ErrorReportBody,
} from '../src';
import type { WavegateClientOptions } from '../src';
import { baseConfig, config, flag } from './fixtures';
import { FeaturesServer, eventually } from './features-server';

describe('WavegateClient against a real HTTP server', () => {
  let server: FeaturesServer;
  const clients: WavegateClient[] = [];
  let dir: string;

  const client = (options: Partial<WavegateClientOptions> = {}) => {
    const c = new WavegateClient({
      url: server.url,
      token: server.token,
      appName: 'billing',
      environment: 'production',
      logger: silentLogger,
      backoffMinMs: 20,
      backoffMaxMs: 100,
      ...options,
    });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    server = await new FeaturesServer(baseConfig()).start();
    dir = mkdtempSync(join(tmpdir(), 'wavegate-sdk-'));
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('becomes ready from the stream and evaluates locally, with fallbacks for unknown flags', async () => {
    const c = client();
    expect(c.isEnabled('on')).toBe(false); // nothing loaded yet: the fallback, no throw
    await c.ready(5000);
    expect(c.status).toMatchObject({ connection: 'streaming', source: 'stream', flagCount: 8 });
    expect(c.isEnabled('on')).toBe(true);
    expect(c.isEnabled('off')).toBe(false);
    expect(c.isEnabled('beta-users', { userId: 'u2' })).toBe(true);
    expect(c.isEnabled('beta-users', { userId: 'u3' })).toBe(false);
    expect(c.isEnabled('pro-tenants', { properties: { plan: 'pro' } })).toBe(true);
    expect(c.isEnabled('pro-tenants', { plan: 'free' })).toBe(false);
    // The client's appName is part of every context.
    expect(c.isEnabled('this-app-only', { userId: 'x' })).toBe(true);
    expect(c.isEnabled('this-app-only', { appName: 'other' })).toBe(false);
    expect(c.isEnabled('missing')).toBe(false);
    expect(c.isEnabled('missing', {}, true)).toBe(true);
    expect(c.isEnabled('missing', {}, (name) => name === 'missing')).toBe(true);
    expect(c.getVariant('checkout', { userId: 'u1' })).toEqual({
      name: 'blue',
      enabled: true,
      feature_enabled: true,
      payload: { type: 'string', value: 'blue-button' },
    });
    expect(c.getVariant('missing')).toEqual({ name: 'disabled', enabled: false, feature_enabled: false });
    expect(c.getVariant('missing', {}, { name: 'fb', enabled: true })).toEqual({
      name: 'fb',
      enabled: true,
      feature_enabled: false,
    });
    expect(server.count('/api/client/features')).toBe(0); // the stream alone sufficed
    await eventually(() => server.postsTo('/api/client/register').length === 1, 2000, 'register');
    expect(server.postsTo('/api/client/register')[0]).toMatchObject({
      appName: 'billing',
      instanceId: c.instanceId,
      sdkVersion: 'wavegate-node:0.1.0',
      environment: 'production',
    });
  });

  it('applies a change pushed through the stream within milliseconds and says which flags changed', async () => {
    const c = client();
    await c.ready(5000);
    const updates: string[][] = [];
    c.on('update', (u) => updates.push(u.changed));
    const next = baseConfig();
    next.features[1] = flag('off', true);
    const started = Date.now();
    server.setConfig(next);
    await eventually(() => c.isEnabled('off'), 2000, 'the pushed change');
    expect(Date.now() - started).toBeLessThan(1500); // loopback; generous for a loaded CI machine
    expect(updates).toEqual([['off']]);
  });

  it('polls with ETag when streaming is off: 304 while unchanged, the new configuration once changed', async () => {
    const c = client({ streaming: false, refreshIntervalMs: 50 });
    await c.ready(5000);
    expect(c.status.connection).toBe('polling');
    await eventually(() => server.count('/api/client/features', 304) >= 2, 3000, 'two 304s');
    const polls = server.requests.filter((r) => r.path === '/api/client/features');
    expect(polls[0]).toMatchObject({ status: 200 });
    expect(polls[1]).toMatchObject({ status: 304, ifNoneMatch: server.etag });
    server.setConfig(config(flag('on', false)));
    await eventually(() => !c.isEnabled('on'), 3000, 'the polled change');
    expect(c.flagNames).toEqual(['on']);
    expect(server.count('/api/client/stream')).toBe(0);
  });

  it('falls back to polling when the stream is cut, and returns to the stream when it is back', async () => {
    const c = client({ refreshIntervalMs: 50 });
    await c.ready(5000);
    expect(c.status.connection).toBe('streaming');
    server.streamAvailable = false;
    server.cutStreams();
    await eventually(() => c.status.connection === 'polling', 2000, 'polling');
    // A change while the stream is down arrives by polling.
    const next = baseConfig();
    next.features[0] = flag('on', false);
    server.setConfig(next);
    await eventually(() => !c.isEnabled('on'), 3000, 'the change by polling');
    expect(c.status.source).toBe('poll');
    await eventually(() => server.count('/api/client/stream', 503) > 0, 2000, 'a refused reconnect');
    // The stream comes back: polling stops.
    server.streamAvailable = true;
    await eventually(() => c.status.connection === 'streaming', 3000, 'the stream again');
    const pollsThen = server.count('/api/client/features');
    await new Promise((r) => setTimeout(r, 200));
    expect(server.count('/api/client/features')).toBe(pollsThen);
    next.features[0] = flag('on', true);
    server.setConfig(next);
    await eventually(() => c.isEnabled('on'), 2000, 'the change by stream');
  });

  it('applies Unleash delta events sent on the stream', async () => {
    const c = client();
    await c.ready(5000);
    server.pushRaw('unleash-updated', {
      events: [
        { type: 'feature-updated', eventId: 2, feature: flag('added', true) },
        { type: 'feature-removed', eventId: 3, featureName: 'off' },
      ],
    });
    await eventually(() => c.isEnabled('added'), 2000, 'the delta');
    expect(c.flagNames).not.toContain('off');
    server.pushRaw('unleash-updated', { type: 'feature-updated', eventId: 4, feature: flag('on', false) });
    await eventually(() => !c.isEnabled('on'), 2000, 'a single delta event');
  });

  it('reconnects a stream that went silent past streamIdleTimeoutMs', async () => {
    const c = client({ streamIdleTimeoutMs: 150 });
    await c.ready(5000);
    await eventually(() => server.count('/api/client/stream', 200) >= 2, 3000, 'a reconnect');
    await eventually(() => c.status.connection === 'streaming', 3000, 'streaming again');
  });

  it('polls for good when the server has no stream (404)', async () => {
    server.streamMissing = true;
    const c = client({ refreshIntervalMs: 50 });
    await c.ready(5000);
    expect(c.status).toMatchObject({ connection: 'polling', source: 'poll' });
    await eventually(() => server.count('/api/client/features') >= 3, 3000, 'polls');
    expect(server.count('/api/client/stream')).toBe(1);
  });

  it('rejects ready() with a clear error on a bad token, and stops asking', async () => {
    const c = client({ token: 'wrong' });
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    await expect(c.ready(5000)).rejects.toThrow(WavegateAuthError);
    await expect(c.ready()).rejects.toThrow(/refused the client token \(HTTP 401/);
    expect(errors[0]).toBeInstanceOf(WavegateAuthError);
    const asked = server.requests.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(server.requests.filter((r) => r.method === 'GET').length).toBeLessThanOrEqual(asked);
    expect(c.status.connection).toBe('failed');
  });

  it('rejects a bad token when polling too', async () => {
    const c = client({ token: 'wrong', streaming: false });
    await expect(c.ready(5000)).rejects.toBeInstanceOf(WavegateAuthError);
  });

  it('works from a bootstrap object or file while Wavegate is unreachable', async () => {
    await server.close();
    const c = client({ bootstrap: config(flag('boot', true)) });
    await c.ready(100);
    expect(c.status.source).toBe('bootstrap');
    expect(c.isEnabled('boot')).toBe(true);
    const file = join(dir, 'bootstrap.json');
    writeFileSync(file, JSON.stringify(config(flag('from-file', true))));
    const d = client({ bootstrap: file });
    await d.ready(100);
    expect(d.isEnabled('from-file')).toBe(true);
  });

  it('keeps the last configuration in cacheFile and starts from it when Wavegate is down at boot', async () => {
    const cacheFile = join(dir, 'flags-cache.json');
    const first = client({ cacheFile });
    await first.ready(5000);
    await first.close();
    expect(JSON.parse(readFileSync(cacheFile, 'utf8'))).toEqual(baseConfig());
    const port = server.port;
    await server.close();

    const second = client({ cacheFile, url: `http://127.0.0.1:${port}`, refreshIntervalMs: 50 });
    await second.ready(5000);
    expect(second.status.source).toBe('cache');
    expect(second.isEnabled('on')).toBe(true);
    expect(second.isEnabled('beta-users', { userId: 'u1' })).toBe(true);

    // Wavegate comes back on the same port: the client catches up.
    server = await new FeaturesServer(config(flag('on', false))).start(port);
    await eventually(() => !second.isEnabled('on'), 5000, 'the server configuration');
    expect(['stream', 'poll']).toContain(second.status.source);
  });

  it('stays pending, not failing, while Wavegate is down with no cache, and times out when asked to', async () => {
    const port = server.port;
    await server.close();
    const c = client({ url: `http://127.0.0.1:${port}`, cacheFile: join(dir, 'none.json') });
    await expect(c.ready(300)).rejects.toThrow(/not ready after 300 ms/);
    expect(c.isEnabled('on', {}, true)).toBe(true);
  });

  it('sends metrics in the Unleash bucket format, and keeps them when a send fails', async () => {
    const c = client({ metricsIntervalMs: 60_000 });
    await c.ready(5000);
    for (let i = 0; i < 10; i++) c.isEnabled('on');
    for (let i = 0; i < 3; i++) c.isEnabled('beta-users', { userId: 'nobody' });
    c.getVariant('checkout', { userId: 'u1' });
    c.isEnabled('unknown-flag');
    server.failPosts.set('/api/client/metrics', [503]);
    await c.flushMetrics(); // 503: kept
    expect(server.postsTo('/api/client/metrics')).toHaveLength(0);
    c.isEnabled('on');
    await c.flushMetrics();
    const [body] = server.postsTo('/api/client/metrics') as MetricsBody[];
    expect(body).toMatchObject({ appName: 'billing', instanceId: c.instanceId, environment: 'production' });
    expect(body.bucket.toggles).toEqual({
      on: { yes: 11, no: 0, variants: {} },
      'beta-users': { yes: 0, no: 3, variants: {} },
      checkout: { yes: 1, no: 0, variants: { blue: 1 } },
      'unknown-flag': { yes: 0, no: 1, variants: {} },
    });
    expect(Date.parse(body.bucket.stop)).toBeGreaterThanOrEqual(Date.parse(body.bucket.start));
    await c.flushMetrics(); // nothing new: nothing sent
    expect(server.postsTo('/api/client/metrics')).toHaveLength(1);
  });

  it('bounds metrics memory whatever the traffic', async () => {
    const c = client({ maxMetricsFlags: 100 });
    await c.ready(5000);
    for (let i = 0; i < 50_000; i++) c.isEnabled(`generated-${i}`);
    await c.flushMetrics();
    const [body] = server.postsTo('/api/client/metrics') as MetricsBody[];
    expect(Object.keys(body.bucket.toggles)).toHaveLength(100);
  });

  it('reports errors per flag and tenant in batches, through reportError and withFlag', async () => {
    const c = client({ errorsIntervalMs: 60_000 });
    await c.ready(5000);
    c.reportError('checkout', { userId: 'u1', tenantId: 'acme' }, new Error('boom'));
    c.reportError('checkout', { properties: { tenantId: 'acme' } }, new Error('boom again'));
    c.reportError('checkout', { tenantId: 'globex' });
    expect(() =>
      c.withFlag('on', { tenantId: 'acme' }, (enabled) => {
        if (enabled) throw new TypeError('sync failure');
      }),
    ).toThrow('sync failure');
    await expect(
      c.withFlag('on', { tenantId: 'initech' }, async () => {
        throw new Error('async failure');
      }),
    ).rejects.toThrow('async failure');
    expect(c.withFlag('on', {}, (enabled) => (enabled ? 'new' : 'old'))).toBe('new');
    await expect(c.withFlag('off', {}, async (enabled) => (enabled ? 'new' : 'old'))).resolves.toBe('old');
    server.failPosts.set('/api/client/errors', [500]);
    await c.flushErrors();
    await c.flushErrors();
    const bodies = server.postsTo('/api/client/errors') as ErrorReportBody[];
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({
      appName: 'billing',
      environment: 'production',
      instanceId: c.instanceId,
    });
    expect(bodies[0].errors).toEqual(
      expect.arrayContaining([
        { flag: 'checkout', tenantId: 'acme', count: 2, message: 'Error: boom again' },
        { flag: 'checkout', tenantId: 'globex', count: 1, message: 'unspecified error' },
        { flag: 'on', tenantId: 'acme', count: 1, message: 'TypeError: sync failure' },
        { flag: 'on', tenantId: 'initech', count: 1, message: 'Error: async failure' },
      ]),
    );
    expect(bodies[0].errors).toHaveLength(4);
  });

  it('sends pending error reports on close', async () => {
    const c = client();
    await c.ready(5000);
    c.reportError('on', { tenantId: 't1' }, 'failed');
    await c.close();
    expect(server.postsTo('/api/client/errors')).toEqual([
      expect.objectContaining({ errors: [{ flag: 'on', tenantId: 't1', count: 1, message: 'failed' }] }),
    ]);
  });

  it('refuses construction without url, token or appName', () => {
    expect(() => new WavegateClient({ url: '', token: 't', appName: 'a' })).toThrow(/"url" is required/);
    expect(() => new WavegateClient({ url: 'http://x', token: 't', appName: '' })).toThrow(/"appName"/);
  });

  it('offline: evaluates from the bootstrap or the cache file and never makes a request', async () => {
    const cacheFile = join(dir, 'offline-cache.json');
    writeFileSync(cacheFile, JSON.stringify(config(flag('cached', true))));
    const a = client({ offline: true, bootstrap: config(flag('boot', true)) });
    const b = client({ offline: true, cacheFile });
    const c = client({ offline: true });
    await a.ready(1000);
    await b.ready(1000);
    await expect(c.ready(1000)).rejects.toThrow(/offline Wavegate client without a bootstrap/);
    expect(a.isEnabled('boot')).toBe(true);
    expect(b.isEnabled('cached')).toBe(true);
    expect(b.status).toMatchObject({ connection: 'offline', source: 'cache' });
    a.reportError('boot', {}, 'x');
    await a.flushErrors();
    await a.flushMetrics();
    await new Promise((r) => setTimeout(r, 100));
    expect(server.requests).toEqual([]);
  });

  it('uses an injected fetch', async () => {
    const seen: string[] = [];
    const c = client({
      streaming: false,
      fetch: (url, init) => {
        seen.push(url);
        return fetch(url, init);
      },
    });
    await c.ready(5000);
    expect(seen).toContain(`${server.url}/api/client/features`);
  });
});
