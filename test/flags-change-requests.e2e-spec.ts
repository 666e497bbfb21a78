import { AddressInfo } from 'node:net';
import { createApps, importTenants } from './support/factories';
import { waitFor } from './support/rollouts';
import { bearer, startTestApp, TestApp } from './support/test-app';

// A production flag change goes through a `flag.update` change request: 202, a plan with the before/after diff,
// self-approval refused, approved by a checker, applied by the engine, visible to SDKs and SSE clients.
describe('flag changes through change requests (e2e)', () => {
  let t: TestApp;
  let base: string;
  let maker: { token: string; id: string };
  let checker: { token: string; id: string };
  let clientToken: string;

  beforeAll(async () => {
    process.env.WAVEGATE_ENGINE_POLL_MS = '20';
    t = await startTestApp();
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    maker = await t.userToken(['maker']);
    checker = await t.userToken(['checker']);
    // An inventory to judge the blast radius against (a flag change counts as one target).
    await createApps(t);
    await importTenants(t, 50);
    await t
      .http()
      .post('/api/flags')
      .set(bearer(maker.token))
      .send({ key: 'checkout-v2', description: 'New checkout' })
      .expect(201);
    const tok = await t
      .http()
      .post('/api/tokens')
      .set(bearer(t.adminToken))
      .send({ name: 'prod', kind: 'client', environment: 'production' });
    clientToken = tok.body.token as string;
  });
  afterAll(() => t.close());

  it('opens a CR (202) instead of writing; the plan shows the diff; approval by a checker applies it', async () => {
    const before = await t.http().get('/api/client/features').set('Authorization', clientToken);
    expect(before.body.features[0]).toMatchObject({ name: 'checkout-v2', enabled: false });

    const res = await t
      .http()
      .put('/api/flags/checkout-v2/environments/production')
      .set(bearer(maker.token))
      .send({
        enabled: true,
        strategies: [{ name: 'flexibleRollout', parameters: { rollout: 25 } }],
        justification: 'Launch to 25 %',
        ticket: 'PAY-12',
      });
    expect(res.status).toBe(202);
    const cr = res.body.changeRequest as {
      id: string;
      status: string;
      planHash: string;
      plan: Record<string, unknown>;
    };
    expect(cr).toMatchObject({ status: 'pending', plan: { operation: 'flag.update' } });
    expect(cr.plan.params).toMatchObject({
      environment: 'production',
      flag: 'checkout-v2',
      beforeVersion: 1,
      before: { enabled: false, strategies: [] },
      after: {
        enabled: true,
        strategies: [
          {
            name: 'flexibleRollout',
            parameters: { rollout: '25', stickiness: 'default', groupId: 'checkout-v2' },
          },
        ],
      },
    });
    const planned = JSON.stringify(cr.plan);
    expect(planned).toContain('production/checkout-v2');
    expect(planned).toContain('update: enable, strategies 0 -> 1');

    // Nothing changed yet.
    const still = await t.http().get('/api/flags/checkout-v2').set(bearer(maker.token));
    expect(still.body.environments.production).toMatchObject({ enabled: false, version: 1 });

    const self = await t
      .http()
      .post(`/api/change-requests/${cr.id}/approve`)
      .set(bearer(maker.token))
      .send({ planHash: cr.planHash });
    expect(self.status).toBe(403);

    const sse = await fetch(`${base}/api/client/stream`, { headers: { Authorization: clientToken } });
    const reader = (sse.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        text += new TextDecoder().decode(value);
      }
    };
    await readUntil('event: unleash-connected');

    const ok = await t
      .http()
      .post(`/api/change-requests/${cr.id}/approve`)
      .set(bearer(checker.token))
      .send({ planHash: cr.planHash });
    expect(ok.status).toBe(200);
    const exec = await t.http().post(`/api/change-requests/${cr.id}/execute`).set(bearer(checker.token));
    if (![200, 202].includes(exec.status)) await reader.cancel();
    expect([200, 202]).toContain(exec.status);
    const started = performance.now();
    await waitFor(t, checker.token, cr.id, (p) => p.status === 'completed');
    await readUntil('event: unleash-updated');
    console.log(`SSE update after CR execute: ${(performance.now() - started).toFixed(1)} ms`);
    await reader.cancel();

    const after = await t.http().get('/api/client/features').set('Authorization', clientToken);
    expect(after.body.features[0]).toMatchObject({
      name: 'checkout-v2',
      enabled: true,
      strategies: [{ name: 'flexibleRollout' }],
    });
    const feed = await t.http().get('/api/events?limit=1000').set(bearer(t.adminToken));
    const upd = (
      feed.body.items as Array<{ type: string; entityId: string; data: Record<string, unknown> }>
    ).find((e) => e.type === 'flag.updated' && e.entityId === 'checkout-v2');
    expect(upd?.data).toMatchObject({ environment: 'production', version: 2, changeRequestId: cr.id });
  });

  it('fails as drift when the flag changed after the plan', async () => {
    const first = await t
      .http()
      .put('/api/flags/checkout-v2/environments/production')
      .set(bearer(maker.token))
      .send({ enabled: false });
    expect(first.status).toBe(202);
    const second = await t
      .http()
      .put('/api/flags/checkout-v2/environments/production')
      .set(bearer(maker.token))
      .send({ strategies: [{ name: 'default' }] });
    expect(second.status).toBe(202);
    const a = first.body.changeRequest as { id: string; planHash: string };
    const b = second.body.changeRequest as { id: string; planHash: string };
    for (const cr of [a, b]) {
      await t
        .http()
        .post(`/api/change-requests/${cr.id}/approve`)
        .set(bearer(checker.token))
        .send({ planHash: cr.planHash })
        .expect(200);
    }
    await t.http().post(`/api/change-requests/${a.id}/execute`).set(bearer(checker.token));
    await waitFor(t, checker.token, a.id, (p) => p.status === 'completed');
    await t.http().post(`/api/change-requests/${b.id}/execute`).set(bearer(checker.token));
    const p = await waitFor(t, checker.token, b.id, (x) =>
      ['halted', 'completed', 'failed'].includes(x.status),
    );
    expect(p.status).toBe('halted');
    expect(p.progress.failed).toBe(1);
    const flag = await t.http().get('/api/flags/checkout-v2').set(bearer(maker.token));
    // The first change applied; the second did not overwrite it.
    expect(flag.body.environments.production).toMatchObject({ enabled: false, version: 3 });
    expect(flag.body.environments.production.strategies[0].name).toBe('flexibleRollout');
  });
});
