import { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { ApiTokenEntity } from '../src/auth/api-token.entity';
import { bearer, startTestApp, TestApp } from './support/test-app';

// GET /api/client/features is answered ahead of the Nest pipeline (src/client-api/client-features.fast-path.ts).
// It must keep the guard's rules and error bodies, serve the same bytes and ETag, and stop accepting a revoked
// token within the token cache's lifetime. Real HTTP over loopback (fetch), as SDKs call it.
describe('client features fast path (e2e)', () => {
  let t: TestApp;
  let base: string;
  let client: { id: string; token: string };
  let automation: string;
  const url = () => `${base}/api/client/features`;

  const token = async (kind: string, environment?: string) => {
    const res = await t
      .http()
      .post('/api/tokens')
      .set(bearer(t.adminToken))
      .send({ name: `${kind}-fast`, kind, ...(environment ? { environment } : {}) });
    expect(res.status).toBe(201);
    return { id: res.body.id as string, token: res.body.token as string };
  };

  const counter = async (status: number): Promise<number> => {
    const res = await t.http().get('/metrics').set(bearer(t.adminToken));
    const line = (res.text as string)
      .split('\n')
      .find((l) => l.startsWith(`wavegate_client_features_requests_total{status="${status}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  beforeAll(async () => {
    t = await startTestApp();
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    const maker = (await t.userToken(['maker'])).token;
    for (const key of ['fast-a', 'fast-b']) {
      const res = await t
        .http()
        .post('/api/flags')
        .set(bearer(maker))
        .send({ key, environments: { development: { enabled: true, strategies: [{ name: 'default' }] } } });
      expect(res.status).toBe(201);
    }
    client = await token('client', 'development');
    automation = (await token('automation')).token;
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it('200: the snapshot bytes with a strong ETag, for the bare token (Unleash SDKs) and as a bearer token', async () => {
    const before = await counter(200);
    const raw = await fetch(url(), { headers: { Authorization: client.token } });
    expect(raw.status).toBe(200);
    const etag = raw.headers.get('etag') as string;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(raw.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(raw.headers.get('cache-control')).toBe('no-cache');
    const body = (await raw.json()) as { version: number; features: { name: string }[] };
    expect(body.version).toBe(2);
    expect(body.features.map((f) => f.name)).toEqual(['fast-a', 'fast-b']);

    const asBearer = await fetch(`${url()}?project=default`, { headers: bearer(client.token) });
    expect(asBearer.status).toBe(200);
    expect(asBearer.headers.get('etag')).toBe(etag);
    expect(await asBearer.json()).toEqual(body);
    // Served by the fast path (counted there), not by the Nest route.
    expect(await counter(200)).toBe(before + 2);
  });

  it('304 on If-None-Match (also in a list), and a new ETag after a change', async () => {
    const first = await fetch(url(), { headers: { Authorization: client.token } });
    const etag = first.headers.get('etag') as string;
    await first.arrayBuffer();
    const before = await counter(304);
    for (const inm of [etag, `"other", ${etag}`, `W/${etag}`]) {
      const res = await fetch(url(), { headers: { Authorization: client.token, 'If-None-Match': inm } });
      expect(res.status).toBe(304);
      expect(res.headers.get('etag')).toBe(etag);
      expect((await res.arrayBuffer()).byteLength).toBe(0);
    }
    expect(await counter(304)).toBe(before + 3);

    const put = await t
      .http()
      .put('/api/flags/fast-a/environments/development')
      .set(bearer(t.adminToken))
      .send({ enabled: false });
    expect(put.status).toBe(200);
    const after = await fetch(url(), { headers: { Authorization: client.token, 'If-None-Match': etag } });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(etag);
    const changed = (await after.json()) as { features: { name: string; enabled: boolean }[] };
    expect(changed.features.find((f) => f.name === 'fast-a')?.enabled).toBe(false);
  });

  it('401 and 403 have the same JSON bodies as the guarded Nest routes', async () => {
    const unknown = `wgc_${'A'.repeat(43)}`;
    // The same calls against a client route that goes through the Nest pipeline (guard + exception filter).
    const viaNest = async (auth: string) => {
      const res = await fetch(`${base}/api/client/register`, {
        method: 'POST',
        headers: { Authorization: auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ appName: 'x', instanceId: 'y' }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const viaFast = async (auth: string, requestId?: string) => {
      const res = await fetch(url(), {
        headers: { Authorization: auth, ...(requestId ? { 'X-Request-Id': requestId } : {}) },
      });
      return {
        status: res.status,
        body: (await res.json()) as Record<string, unknown>,
        requestIdHeader: res.headers.get('x-request-id'),
      };
    };
    const strip = (b: Record<string, unknown>) => ({ ...b, requestId: typeof b.requestId });

    const bad = await viaFast(unknown, 'req-401');
    const badNest = await viaNest(unknown);
    expect(bad.status).toBe(401);
    expect(badNest.status).toBe(401);
    expect(strip(bad.body)).toEqual(strip(badNest.body));
    expect(bad.body).toMatchObject({
      statusCode: 401,
      error: 'Unauthorized',
      code: 'AUTH.BAD_TOKEN',
      requestId: 'req-401',
    });
    expect(bad.requestIdHeader).toBe('req-401');

    const wrongKind = await viaFast(`Bearer ${automation}`);
    const wrongKindNest = await viaNest(`Bearer ${automation}`);
    expect(wrongKind.status).toBe(403);
    expect(wrongKindNest.status).toBe(403);
    expect(strip(wrongKind.body)).toEqual(strip(wrongKindNest.body));
    expect(wrongKind.body).toMatchObject({ statusCode: 403, error: 'Forbidden', code: 'AUTH.FORBIDDEN' });

    // Not an API token at all (no header, a session JWT): the Nest route answers, with the guard's rules.
    const none = await fetch(url());
    expect(none.status).toBe(401);
    expect(((await none.json()) as { code: string }).code).toBe('AUTH.REQUIRED');
    const user = await fetch(url(), { headers: bearer(t.adminToken) });
    expect(user.status).toBe(403);
    expect(((await user.json()) as { code: string }).code).toBe('AUTH.FORBIDDEN');
  });

  it('a revoked token is refused at once by this process, and within the cache TTL when revoked elsewhere', async () => {
    // Revoked through the API of this process: refused on the next request.
    const here = await token('client', 'development');
    expect((await fetch(url(), { headers: { Authorization: here.token } })).status).toBe(200);
    const del = await t.http().delete(`/api/tokens/${here.id}`).set(bearer(t.adminToken));
    expect(del.status).toBeLessThan(300);
    const refused = await fetch(url(), { headers: { Authorization: here.token } });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { code: string }).code).toBe('AUTH.BAD_TOKEN');

    // Revoked by another replica (its row changes under this process, whose cache still holds the token):
    // refused once the cached entry expires, within 10 s.
    const elsewhere = await token('client', 'development');
    expect((await fetch(url(), { headers: { Authorization: elsewhere.token } })).status).toBe(200);
    await t.app
      .get(DataSource)
      .getRepository(ApiTokenEntity)
      .update({ id: elsewhere.id }, { revokedAt: new Date() });
    const revokedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 15_000) {
      await new Promise((r) => setTimeout(r, 200));
      const res = await fetch(url(), { headers: { Authorization: elsewhere.token } });
      status = res.status;
      await res.arrayBuffer();
    }
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(10_000 + 500);
  }, 30_000);

  it('the Nest route stays the documented one in OpenAPI', async () => {
    const doc = await t.http().get('/api/docs-json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths as object)).toContain('/api/client/features');
  });
});
