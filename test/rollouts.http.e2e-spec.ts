import { createHmac } from 'node:crypto';
import { createServer, IncomingMessage, Server } from 'node:http';
import { deriveKey } from '../src/auth/token.codec';
import { createActors, createApps, Actors } from './support/factories';
import { approvedCr, execute, waitFor } from './support/rollouts';
import { bearer, startTestApp, TestApp } from './support/test-app';

// The `http` operation against a real local HTTP server: signed, idempotent calls, bounded retries, allowlist.
describe('http operation', () => {
  let t: TestApp;
  let a: Actors;
  let receiver: Server;
  let base: string;
  const calls: { tenant: string; key: string; signature: string; body: string }[] = [];
  const failuresLeft = new Map<string, number>([
    ['h1', 1],
    ['h2', 99],
  ]);

  beforeAll(async () => {
    process.env.WAVEGATE_ENGINE_POLL_MS = '20';
    process.env.WAVEGATE_HTTP_OPERATION_BACKOFF_MS = '10';
    receiver = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const tenant = (JSON.parse(body) as { target: { tenantId: string } }).target.tenantId;
        calls.push({
          tenant,
          key: String(req.headers['idempotency-key']),
          signature: String(req.headers['x-wavegate-signature']),
          body,
        });
        const left = failuresLeft.get(tenant) ?? 0;
        if (left > 0) failuresLeft.set(tenant, left - 1);
        res.statusCode = left > 0 ? 500 : 200;
        res.end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
    t = await startTestApp();
    a = await createActors(t);
    await createApps(t);
    const tenants = ['h0', 'h1', 'h2', 'h3', 'h4'].map((id) => ({
      id,
      name: id,
      tier: 'standard',
      installations: [{ appKey: 'jira' }],
    }));
    expect((await t.http().post('/api/tenants').set(bearer(t.adminToken)).send({ tenants })).status).toBe(
      201,
    );
  });
  afterAll(async () => {
    await t.close();
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
  });

  const httpCr = (ids: string[], url: string) =>
    approvedCr(t, a.maker.token, [a.checker1.token, a.checker2.token, a.checker3.token], {
      title: 'disable legacy hooks',
      operation: 'http',
      params: { url, method: 'POST', body: { action: 'disable-legacy' } },
      targets: ids.map((id) => ({ type: 'tenant', id })),
      waves: { bakeSeconds: 0 },
      ticket: 'HTTP-1',
    });

  it('refuses a URL outside the admin-managed allowlist', async () => {
    expect(
      (
        await t
          .http()
          .put('/api/operations/http/allowlist')
          .set(bearer(a.maker.token))
          .send({ prefixes: [`${base}/`] })
      ).status,
    ).toBe(403);
    expect(
      (
        await t
          .http()
          .put('/api/operations/http/allowlist')
          .set(bearer(t.adminToken))
          .send({ prefixes: ['http'] })
      ).status,
    ).toBe(400);
    const cr = await httpCr(['h4'], `${base}/hooks`);
    await execute(t, a.checker1.token, cr.id);
    const p = await waitFor(t, a.viewer.token, cr.id, (x) => x.status === 'halted');
    expect(p.haltReason).toContain('allowlist');
    expect(calls).toHaveLength(0);
  });

  it('signs each call, retries with the same Idempotency-Key, and halts when a target keeps failing', async () => {
    const put = await t
      .http()
      .put('/api/operations/http/allowlist')
      .set(bearer(t.adminToken))
      .send({ prefixes: [`${base}/`] });
    expect(put.status).toBe(200);
    const cr = await httpCr(['h0', 'h1', 'h2', 'h3'], `${base}/hooks`);
    await execute(t, a.checker1.token, cr.id);
    const p = await waitFor(t, a.viewer.token, cr.id, (x) => x.status === 'halted');
    expect(p.progress).toMatchObject({ succeeded: 2, failed: 1, pending: 1 });
    expect(p.haltReason).toContain('tenant:h2');
    expect(p.haltReason).toContain('HTTP 500');
    expect(calls.filter((c) => c.tenant === 'h0')).toHaveLength(1);
    const h1 = calls.filter((c) => c.tenant === 'h1');
    expect(h1).toHaveLength(2);
    expect(h1[0].key).toBe(h1[1].key);
    expect(h1[0].key).toBe(`${cr.id}:1:tenant:h1`);
    expect(calls.filter((c) => c.tenant === 'h2')).toHaveLength(3);
    expect(calls.filter((c) => c.tenant === 'h3')).toHaveLength(0);
    const key = deriveKey(t.config.secret, 'http-operation');
    for (const c of calls) {
      const [, ts, sig] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(c.signature) ?? [];
      expect(sig).toBe(createHmac('sha256', key).update(`${ts}.${c.body}`).digest('hex'));
      expect(JSON.parse(c.body)).toMatchObject({
        changeRequestId: cr.id,
        body: { action: 'disable-legacy' },
      });
    }
  });
});
