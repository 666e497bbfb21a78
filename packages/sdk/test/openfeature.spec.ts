import { ErrorCode, OpenFeature, ProviderEvents, type EventDetails } from '@openfeature/server-sdk';
import { WavegateClient, silentLogger, type ErrorReportBody } from '../src';
import { WavegateProvider, toWavegateContext } from '../src/openfeature';
import { baseConfig, flag } from './fixtures';
import { FeaturesServer, eventually } from './features-server';

describe('WavegateProvider through @openfeature/server-sdk', () => {
  let server: FeaturesServer;
  let provider: WavegateProvider;
  const domain = 'wavegate-provider-spec';

  beforeAll(async () => {
    server = await new FeaturesServer(baseConfig()).start();
    provider = new WavegateProvider({
      url: server.url,
      token: server.token,
      appName: 'billing',
      logger: silentLogger,
      errorsIntervalMs: 60_000,
    });
    await OpenFeature.setProviderAndWait(domain, provider);
  });

  afterAll(async () => {
    await OpenFeature.close();
    await server.close();
  });

  it('resolves booleans with reasons', async () => {
    const client = OpenFeature.getClient(domain);
    expect(await client.getBooleanValue('on', false)).toBe(true);
    expect(await client.getBooleanDetails('off', true)).toMatchObject({
      value: false,
      reason: 'DISABLED',
      variant: 'off',
    });
    expect(await client.getBooleanDetails('beta-users', false, { targetingKey: 'u1' })).toMatchObject({
      value: true,
      reason: 'TARGETING_MATCH',
      flagMetadata: { strategy: 'userWithId', detail: 'STRATEGY_MATCHED' },
    });
    expect(await client.getBooleanDetails('beta-users', true, { targetingKey: 'u9' })).toMatchObject({
      value: false,
      reason: 'DEFAULT',
    });
    expect(await client.getBooleanValue('pro-tenants', false, { plan: 'pro' })).toBe(true);
  });

  it('resolves strings, numbers and objects from variant payloads', async () => {
    const client = OpenFeature.getClient(domain);
    expect(await client.getStringDetails('checkout', 'grey', { targetingKey: 'u1' })).toMatchObject({
      value: 'blue-button',
      variant: 'blue',
    });
    expect(await client.getNumberValue('timeout', 1000)).toBe(250);
    expect(await client.getObjectValue('limits', { max: 0 })).toEqual({ max: 5 });
    // Off, or on without a variant: the default value.
    expect(await client.getStringDetails('off', 'grey')).toMatchObject({ value: 'grey', reason: 'DISABLED' });
    expect(await client.getStringDetails('on', 'grey')).toMatchObject({ value: 'grey', reason: 'DEFAULT' });
    // Wrong type: the default value with TYPE_MISMATCH.
    expect(await client.getNumberDetails('checkout', 7)).toMatchObject({
      value: 7,
      errorCode: ErrorCode.TYPE_MISMATCH,
      reason: 'ERROR',
    });
    expect(await client.getObjectDetails('timeout', {})).toMatchObject({
      errorCode: ErrorCode.TYPE_MISMATCH,
    });
  });

  it('answers a missing flag with the default value and FLAG_NOT_FOUND', async () => {
    const client = OpenFeature.getClient(domain);
    for (const details of [
      await client.getBooleanDetails('nope', true),
      await client.getStringDetails('nope', 'd'),
      await client.getNumberDetails('nope', 3),
      await client.getObjectDetails('nope', { a: 1 }),
    ]) {
      expect(details).toMatchObject({ errorCode: ErrorCode.FLAG_NOT_FOUND, reason: 'ERROR' });
    }
    expect(await client.getNumberValue('nope', 3)).toBe(3);
  });

  it('emits PROVIDER_CONFIGURATION_CHANGED with the changed flags when Wavegate pushes a change', async () => {
    const client = OpenFeature.getClient(domain);
    const events: EventDetails[] = [];
    client.addHandler(ProviderEvents.ConfigurationChanged, (e) => {
      if (e !== undefined) events.push(e);
    });
    const next = baseConfig();
    next.features[1] = flag('off', true);
    server.setConfig(next);
    await eventually(() => events.length > 0, 3000, 'configuration changed event');
    expect(events[0].flagsChanged).toEqual(['off']);
    expect(await client.getBooleanValue('off', false)).toBe(true);
  });

  it('was ready through PROVIDER_READY, and maps tracking calls to error reports', async () => {
    const client = OpenFeature.getClient(domain);
    expect(client.providerStatus).toBe('READY');
    let ready = false;
    client.addHandler(ProviderEvents.Ready, () => (ready = true)); // fires at once for a ready provider
    await eventually(() => ready, 1000, 'ready handler');
    client.track(
      'checkout-failed',
      { targetingKey: 'u1', tenantId: 'acme' },
      { flagKey: 'checkout', message: 'x' },
    );
    client.track('on', { tenantId: 'globex' });
    client.track('page-view', { tenantId: 'globex' }); // not a flag: not an error report
    await provider.client.flushErrors();
    const [body] = server.postsTo('/api/client/errors') as ErrorReportBody[];
    expect(body.errors).toEqual([
      { flag: 'checkout', tenantId: 'acme', count: 1, message: 'x' },
      { flag: 'on', tenantId: 'globex', count: 1, message: 'on' },
    ]);
  });

  it('maps the OpenFeature context to the Unleash context', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    expect(toWavegateContext({ targetingKey: 'u1', tenantId: 't', n: 3, at, nested: { a: 1 } })).toEqual({
      userId: 'u1',
      tenantId: 't',
      n: 3,
      at: '2026-01-01T00:00:00.000Z',
    });
  });

  it('accepts an existing client and rejects initialization on a bad token', async () => {
    const bad = new WavegateClient({ url: server.url, token: 'nope', appName: 'x', logger: silentLogger });
    const p = new WavegateProvider(bad);
    await expect(OpenFeature.setProviderAndWait('bad-token-domain', p)).rejects.toThrow(
      /refused the client token/,
    );
    await bad.close();
  });
});
