import { AddressInfo } from 'node:net';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { ErrorCode, OpenFeature } from '@openfeature/server-sdk';
import { bearer, startTestApp, TestApp } from './support/test-app';

// OpenFeature's server SDK with the OFREP provider against Wavegate.
describe('OFREP (e2e)', () => {
  let t: TestApp;
  let base: string;
  let token: string;

  const put = async (key: string, config: Record<string, unknown>) => {
    const maker = t.adminToken;
    await t.http().post('/api/flags').set(bearer(maker)).send({ key }).expect(201);
    const res = await t.http().put(`/api/flags/${key}/environments/staging`).set(bearer(maker)).send(config);
    expect(res.status).toBe(200);
  };
  const variant = (name: string, type: string, value: string) => ({
    name,
    weightType: 'variable',
    payload: { type, value },
  });

  beforeAll(async () => {
    t = await startTestApp();
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    await put('dark-mode', {
      enabled: true,
      strategies: [{ name: 'userWithId', parameters: { userIds: 'alice' } }],
    });
    await put('kill-switch', { enabled: false });
    await put('banner-text', {
      enabled: true,
      strategies: [{ name: 'default' }],
      variants: [variant('hello', 'string', 'Hello!')],
    });
    await put('max-items', {
      enabled: true,
      strategies: [{ name: 'default' }],
      variants: [variant('ten', 'number', '10')],
    });
    await put('theme', {
      enabled: true,
      strategies: [
        { name: 'default', constraints: [{ contextName: 'plan', operator: 'IN', values: ['pro'] }] },
      ],
      variants: [variant('dark', 'json', '{"bg":"#000","fg":"#fff"}')],
    });
    const tok = await t
      .http()
      .post('/api/tokens')
      .set(bearer(t.adminToken))
      .send({ name: 'ofrep', kind: 'client', environment: 'staging' });
    token = tok.body.token as string;
    await OpenFeature.setProviderAndWait(
      new OFREPProvider({ baseUrl: base, headers: [['Authorization', `Bearer ${token}`]] }),
    );
  });

  afterAll(async () => {
    await OpenFeature.close();
    await t.close();
  });

  it('resolves boolean, string, number and object flags with values and reasons', async () => {
    const client = OpenFeature.getClient();
    const on = await client.getBooleanDetails('dark-mode', false, { targetingKey: 'alice' });
    expect(on).toMatchObject({ value: true, reason: 'TARGETING_MATCH', variant: 'on' });
    const off = await client.getBooleanDetails('dark-mode', true, { targetingKey: 'bob' });
    expect(off).toMatchObject({ value: false, reason: 'DEFAULT', variant: 'off' });
    const killed = await client.getBooleanDetails('kill-switch', true, { targetingKey: 'alice' });
    expect(killed).toMatchObject({ value: false, reason: 'DISABLED' });

    const text = await client.getStringDetails('banner-text', 'fallback', { targetingKey: 'alice' });
    expect(text).toMatchObject({ value: 'Hello!', variant: 'hello' });
    expect(['STATIC', 'SPLIT', 'TARGETING_MATCH']).toContain(text.reason);
    const n = await client.getNumberDetails('max-items', 1, { targetingKey: 'alice' });
    expect(n).toMatchObject({ value: 10, variant: 'ten' });
    const theme = await client.getObjectDetails('theme', {}, { targetingKey: 'alice', plan: 'pro' });
    expect(theme).toMatchObject({ value: { bg: '#000', fg: '#fff' }, variant: 'dark' });
  });

  it('a missing flag gives the default with FLAG_NOT_FOUND', async () => {
    const client = OpenFeature.getClient();
    const d = await client.getBooleanDetails('no-such-flag', true, { targetingKey: 'alice' });
    expect(d).toMatchObject({ value: true, reason: 'ERROR', errorCode: ErrorCode.FLAG_NOT_FOUND });
    const s = await client.getStringDetails('no-such-flag', 'dflt', {});
    expect(s).toMatchObject({ value: 'dflt', errorCode: ErrorCode.FLAG_NOT_FOUND });
  });

  it('speaks OFREP on the wire: 404, 400 error codes, bulk with ETag/304, 401/403 for tokens', async () => {
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, ...headers },
        body: JSON.stringify(body),
      });
    const missing = await post('/ofrep/v1/evaluate/flags/nope', { context: {} });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ key: 'nope', errorCode: 'FLAG_NOT_FOUND' });
    const noKey = await post('/ofrep/v1/evaluate/flags/dark-mode', { context: {} });
    expect(noKey.status).toBe(400);
    expect(await noKey.json()).toMatchObject({ key: 'dark-mode', errorCode: 'TARGETING_KEY_MISSING' });
    const badCtx = await post('/ofrep/v1/evaluate/flags/dark-mode', { context: 'alice' });
    expect(badCtx.status).toBe(400);
    expect(await badCtx.json()).toMatchObject({ errorCode: 'INVALID_CONTEXT' });
    const notObject = await post('/ofrep/v1/evaluate/flags/dark-mode', [1, 2]);
    expect(notObject.status).toBe(400);
    expect(await notObject.json()).toMatchObject({ errorCode: 'PARSE_ERROR' });

    const bulk = await post('/ofrep/v1/evaluate/flags', { context: { targetingKey: 'alice', plan: 'pro' } });
    expect(bulk.status).toBe(200);
    const etag = bulk.headers.get('etag') as string;
    const body = (await bulk.json()) as { flags: Array<{ key: string; value: unknown }> };
    expect(body.flags.map((f) => [f.key, f.value])).toEqual([
      ['banner-text', 'Hello!'],
      ['dark-mode', true],
      ['kill-switch', false],
      ['max-items', 10],
      ['theme', { bg: '#000', fg: '#fff' }],
    ]);
    const again = await post(
      '/ofrep/v1/evaluate/flags',
      { context: { targetingKey: 'alice', plan: 'pro' } },
      { 'If-None-Match': etag },
    );
    expect(again.status).toBe(304);
    const other = await post(
      '/ofrep/v1/evaluate/flags',
      { context: { targetingKey: 'bob' } },
      { 'If-None-Match': etag },
    );
    expect(other.status).toBe(200);

    expect(
      (await post('/ofrep/v1/evaluate/flags/dark-mode', {}, { Authorization: 'Bearer wgc_nope' })).status,
    ).toBe(401);
    expect(
      (await post('/ofrep/v1/evaluate/flags/dark-mode', {}, { Authorization: `Bearer ${t.adminToken}` }))
        .status,
    ).toBe(403);
  });
});
