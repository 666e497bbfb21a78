import { FakeClock } from '../src/common/clock';
import { TransactionRunner } from '../src/common/transaction';
import { EventsDispatcher } from '../src/events/events.dispatcher';
import { MAX_ATTEMPTS } from '../src/webhooks/domain/backoff';
import { verify } from '../src/webhooks/domain/signature';
import { WebhookDeliveryWorker } from '../src/webhooks/webhook-delivery.worker';
import { bearer, startTestApp, TestApp } from './support/test-app';
import { Received, WebhookReceiver, waitFor } from './support/webhook-receiver';

const PUBLIC_URL = 'https://wavegate.test';

describe('webhooks (issue 8)', () => {
  let t: TestApp;
  let clock: FakeClock;
  let rx: WebhookReceiver;
  const admin = () => bearer(t.adminToken);
  const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);

  beforeAll(async () => {
    clock = new FakeClock(new Date());
    t = await startTestApp({
      clock,
      env: { WAVEGATE_PUBLIC_URL: PUBLIC_URL, WAVEGATE_SESSION_TTL_SECONDS: String(30 * 24 * 3600) },
    });
    rx = await new WebhookReceiver().start();
    await t
      .http()
      .put('/api/webhooks/allowlist')
      .set(admin())
      .send({ hosts: [], networks: ['127.0.0.1/32'] })
      .expect(200);
  });
  afterAll(async () => {
    await rx.stop();
    await t.close();
  });

  const settle = async () => {
    await t.app.get(EventsDispatcher).settle();
    await t.app.get(WebhookDeliveryWorker).settle();
  };

  async function subscribe(
    body: Record<string, unknown>,
    receiver = rx,
  ): Promise<{ id: string; secret: string }> {
    const res = await t
      .http()
      .post('/api/webhooks')
      .set(admin())
      .send({ name: 'chat', url: receiver.url, format: 'slack', events: ['*'], ...body });
    expect(res.status).toBe(201);
    return res.body as { id: string; secret: string };
  }

  const emit = (type: string, crId: string, data: Record<string, unknown>) =>
    t.app.get(TransactionRunner).run(async (tx) => {
      tx.emit({
        type,
        entityType: 'change_request',
        entityId: crId,
        actor: 'user:alice',
        data: { changeRequestId: crId, ...data },
      });
    });

  const verified = (r: Received, secret: string) =>
    verify(r.headers['wavegate-signature'] as string, r.body, secret, nowSeconds());

  it('manages subscriptions: the secret is returned once, never again; validation names the field', async () => {
    const created = await t
      .http()
      .post('/api/webhooks')
      .set(admin())
      .send({
        name: 'ops',
        url: rx.url,
        format: 'json',
        events: ['change_request.*'],
        environments: ['production'],
      })
      .expect(201);
    expect(created.body).toMatchObject({
      name: 'ops',
      url: rx.url,
      format: 'json',
      events: ['change_request.*'],
      environments: ['production'],
      enabled: true,
      status: 'active',
      deliveries: { pending: 0, failed: 0, lastSucceededAt: null },
    });
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const id = created.body.id as string;
    const got = await t.http().get(`/api/webhooks/${id}`).set(admin()).expect(200);
    expect(got.body.secret).toBeUndefined();
    expect(JSON.stringify(got.body)).not.toContain(created.body.secret);
    const list = await t.http().get('/api/webhooks').set(admin()).expect(200);
    expect(JSON.stringify(list.body)).not.toContain(created.body.secret);
    expect(list.body.items.map((w: { id: string }) => w.id)).toContain(id);

    const patched = await t
      .http()
      .patch(`/api/webhooks/${id}`)
      .set(admin())
      .send({ enabled: false, name: 'ops 2' })
      .expect(200);
    expect(patched.body).toMatchObject({
      name: 'ops 2',
      enabled: false,
      status: 'disabled',
      statusReason: 'disabled by an admin',
    });

    const bad = await t
      .http()
      .post('/api/webhooks')
      .set(admin())
      .send({ name: 'x', url: rx.url, format: 'xml', events: ['Bad Event'] });
    expect(bad.status).toBe(400);
    expect(bad.body.details.map((d: { field: string }) => d.field).sort()).toEqual(['events', 'format']);
    const ftp = await t
      .http()
      .post('/api/webhooks')
      .set(admin())
      .send({ name: 'x', url: 'ftp://127.0.0.1/x', format: 'json', events: ['*'] });
    expect(ftp.status).toBe(422);
    expect(ftp.body).toMatchObject({ code: 'WEBHOOK.URL_INVALID', details: [{ field: 'url' }] });

    await t.http().delete(`/api/webhooks/${id}`).set(admin()).expect(204);
    await t.http().get(`/api/webhooks/${id}`).set(admin()).expect(404);
  });

  it('is admin business: a checker cannot list webhooks or touch the allowlist', async () => {
    const { token } = await t.userToken(['checker', 'maker', 'viewer']);
    await t.http().get('/api/webhooks').set(bearer(token)).expect(403);
    await t
      .http()
      .put('/api/webhooks/allowlist')
      .set(bearer(token))
      .send({ hosts: [], networks: [] })
      .expect(403);
  });

  it('refuses a destination outside the allowlist at creation, with a clear message', async () => {
    for (const url of [
      'http://10.1.2.3/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]:8080/x',
      'http://127.0.0.2:9/x',
    ]) {
      const res = await t
        .http()
        .post('/api/webhooks')
        .set(admin())
        .send({ name: 'x', url, format: 'json', events: ['*'] });
      expect({ url, status: res.status, code: res.body.code }).toEqual({
        url,
        status: 422,
        code: 'WEBHOOK.DESTINATION_NOT_ALLOWED',
      });
      expect(res.body.message).toMatch(
        /is a (private|link-local|loopback) address, which is not on the webhook allowlist/,
      );
      expect(res.body.details).toEqual([{ field: 'url', reason: expect.any(String) }]);
    }
    const bad = await t
      .http()
      .put('/api/webhooks/allowlist')
      .set(admin())
      .send({ hosts: ['bad host'], networks: ['10.0.0.0/99'] });
    expect(bad.status).toBe(422);
    expect(bad.body.details.map((d: { field: string }) => d.field)).toEqual(['hosts[0]', 'networks[0]']);
    expect((await t.http().get('/api/webhooks/allowlist').set(admin()).expect(200)).body).toEqual({
      hosts: [],
      networks: ['127.0.0.1/32'],
      allowPublic: true,
    });
  });

  it('sends Slack messages for a change request: signed, with the operation in words and a link to the CR page', async () => {
    const { id, secret } = await subscribe({ events: ['change_request.*'] });
    const crId = '7d0c4d55-1111-4a4a-9a9a-000000000001';
    const base = {
      title: 'Retire legacy Insight app',
      operation: 'installation.deactivate',
      author: { name: 'Alice' },
      targetCount: 3,
      irreversible: false,
    };
    await emit('change_request.submitted', crId, { ...base, status: 'pending' });
    await emit('change_request.approved', crId, { ...base, status: 'approved' });
    await emit('change_request.wave_completed', crId, {
      ...base,
      status: 'running',
      wave: { index: 0, size: 1 },
      waveCount: 2,
    });
    await emit('change_request.halted', crId, {
      ...base,
      status: 'halted',
      haltReason: 'error signals: 2 in 60 s',
    });
    await emit('change_request.completed', crId, { ...base, status: 'completed' });
    await settle();
    const mine = await waitFor('5 messages', () => {
      const got = rx.received.filter((r) => JSON.stringify(r.json).includes(crId));
      return got.length >= 5 && got;
    });
    expect(mine.map((r) => r.headers['wavegate-event-type'])).toEqual([
      'change_request.submitted',
      'change_request.approved',
      'change_request.wave_completed',
      'change_request.halted',
      'change_request.completed',
    ]);
    const headers = mine.map(
      (r) => (r.json as { blocks: Array<{ type: string; text?: { text: string } }> }).blocks[0].text!.text,
    );
    expect(headers).toEqual([
      '⏳ Approval needed: Deactivate app installations',
      '✅ Approved: Deactivate app installations',
      '🌊 Wave 1 of 2 completed: Deactivate app installations',
      '🛑 Rollout halted: Deactivate app installations',
      '🏁 Rollout completed: Deactivate app installations',
    ]);
    for (const r of mine) {
      expect(verified(r, secret)).toMatchObject({ ok: true });
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['wavegate-event-id']).toMatch(/^[0-9a-f-]{36}$/);
      const body = r.json as { text: string; blocks: Array<Record<string, unknown>> };
      expect(body.text).toContain(`${PUBLIC_URL}/ui/change-requests/${crId}`);
      expect(body.blocks).toContainEqual({
        type: 'actions',
        elements: [
          expect.objectContaining({ type: 'button', url: `${PUBLIC_URL}/ui/change-requests/${crId}` }),
        ],
      });
      expect(JSON.stringify(body.blocks)).toContain('*Author*\\nAlice');
    }
    expect(JSON.stringify(mine[3].json)).toContain('error signals: 2 in 60 s');
    // A different secret, a changed body or a stale timestamp fail verification.
    expect(
      verify(mine[0].headers['wavegate-signature'] as string, mine[0].body, 'whsec_other', nowSeconds()),
    ).toMatchObject({ ok: false });
    expect(
      verify(mine[0].headers['wavegate-signature'] as string, mine[0].body, secret, nowSeconds() + 301),
    ).toMatchObject({ ok: false });

    const deliveries = await t.http().get(`/api/webhooks/${id}/deliveries`).set(admin()).expect(200);
    expect(deliveries.body.items).toHaveLength(5);
    expect(deliveries.body.items[0]).toMatchObject({
      eventType: 'change_request.completed',
      status: 'succeeded',
      attempts: 1,
      lastStatusCode: 200,
      nextAttemptAt: null,
      history: [
        { attempt: 1, statusCode: 200, latencyMs: expect.any(Number), responseBody: 'ok', error: null },
      ],
    });
    await t.http().delete(`/api/webhooks/${id}`).set(admin()).expect(204);
  });

  it('json format carries {id, type, occurredAt, data} for real events (user.created) and signs them', async () => {
    const { id, secret } = await subscribe({ format: 'json', events: ['user.created'] });
    const user = await t.userToken(['viewer']);
    await settle();
    const r = await waitFor('user.created', () =>
      rx.received.find(
        (x) =>
          (x.json as { data?: unknown; type?: string })?.type === 'user.created' &&
          JSON.stringify(x.json).includes(user.id),
      ),
    );
    expect(r.json).toMatchObject({
      id: r.headers['wavegate-event-id'],
      type: 'user.created',
      occurredAt: expect.any(String),
      entityId: user.id,
      data: { roles: ['viewer'] },
    });
    expect(verified(r, secret)).toMatchObject({ ok: true });
    await t.http().delete(`/api/webhooks/${id}`).set(admin()).expect(204);
  });

  it('filters by environment, except halts and break-glass executions, which always notify', async () => {
    const other = await new WebhookReceiver().start();
    try {
      const { id } = await subscribe({ events: ['change_request.*'], environments: ['production'] }, other);
      const cr = '7d0c4d55-1111-4a4a-9a9a-000000000002';
      await emit('change_request.approved', cr, { environment: 'staging', title: 'staging approval' });
      await emit('change_request.approved', cr, { environment: 'production', title: 'production approval' });
      await emit('change_request.halted', cr, { environment: 'staging', title: 'staging halt' });
      await emit('change_request.started', cr, {
        environment: 'staging',
        title: 'staging break-glass',
        breakGlass: true,
        incidentRef: 'INC-1',
      });
      await settle();
      const got = await waitFor('3 messages', () => other.received.length >= 3 && other.received);
      await settle();
      expect(got.map((r) => (r.json as { text: string }).text.match(/"([^"]+)"/)?.[1])).toEqual([
        'production approval',
        'staging halt',
        'staging break-glass',
      ]);
      expect(JSON.stringify(got[2].json)).toContain('🚨 Break-glass execution');
      await t.http().delete(`/api/webhooks/${id}`).set(admin()).expect(204);
    } finally {
      await other.stop();
    }
  });

  it('test ping: sends a signed webhook.ping now and reports the answer', async () => {
    const { id, secret } = await subscribe({ format: 'json', events: ['change_request.approved'] });
    const res = await t.http().post(`/api/webhooks/${id}/test`).set(admin()).expect(200);
    expect(res.body).toMatchObject({
      delivered: true,
      statusCode: 200,
      latencyMs: expect.any(Number),
      responseBody: 'ok',
      error: null,
    });
    const ping = rx.ofType('webhook.ping').at(-1)!;
    expect(verified(ping, secret)).toMatchObject({ ok: true });
    await t.http().delete(`/api/webhooks/${id}`).set(admin()).expect(204);
  });

  it('retries with backoff, gives up after 15 attempts and marks the subscription failing; the next event still goes', async () => {
    const flaky = await new WebhookReceiver().start();
    flaky.mode = { status: 500, body: 'x'.repeat(5000) };
    try {
      const { id } = await subscribe({ format: 'json', events: ['change_request.*'] }, flaky);
      const cr = '7d0c4d55-1111-4a4a-9a9a-000000000003';
      await emit('change_request.submitted', cr, { title: 'first' });
      await emit('change_request.approved', cr, { title: 'second' });
      await settle();
      expect(flaky.received).toHaveLength(1);
      const gaps: number[] = [];
      for (let i = 1; i < MAX_ATTEMPTS; i++) {
        const d = (
          await t.http().get(`/api/webhooks/${id}/deliveries?status=pending`).set(admin()).expect(200)
        ).body.items.at(-1);
        gaps.push(new Date(d.nextAttemptAt).getTime() - new Date(d.lastAttemptAt).getTime());
        clock.advance(3_600_000);
        await settle();
        const firsts = flaky.received.filter(
          (r) => (r.json as { data: { title: string } }).data.title === 'first',
        );
        expect(firsts).toHaveLength(i + 1);
      }
      // 1 s doubling to 1 h, ±20 % jitter.
      gaps.forEach((g, i) => {
        const base = Math.min(1000 * 2 ** i, 3_600_000);
        expect(g).toBeGreaterThanOrEqual(base * 0.8 - 1);
        expect(g).toBeLessThanOrEqual(Math.min(base * 1.2 + 1, 3_600_000));
      });
      // Strict order: the second event was not sent before the first was given up.
      const titles = flaky.received.map((r) => (r.json as { data: { title: string } }).data.title);
      expect(titles.slice(0, 15)).toEqual(Array(15).fill('first'));
      expect(titles.slice(15).every((x) => x === 'second')).toBe(true);
      const sub = (await t.http().get(`/api/webhooks/${id}`).set(admin()).expect(200)).body;
      expect(sub).toMatchObject({ status: 'failing', enabled: true, deliveries: { failed: 1 } });
      expect(sub.statusReason).toMatch(
        /gave up delivering change_request.submitted .* after 15 attempts; last: HTTP 500/,
      );
      const all = (await t.http().get(`/api/webhooks/${id}/deliveries`).set(admin()).expect(200)).body.items;
      const failed = all.find((d: { status: string }) => d.status === 'failed');
      expect(failed.history).toHaveLength(15);
      expect(Buffer.byteLength(failed.history[0].responseBody)).toBe(1024);

      // The given-up delivery no longer blocks: the next one is sent (and fails) right away...
      await waitFor('second event', () =>
        flaky.received.some((r) => (r.json as { data: { title: string } }).data.title === 'second'),
      );
      // ...and once the receiver recovers, the subscription is healthy again; the failed one can be redelivered.
      flaky.mode = { status: 204 };
      clock.advance(3_600_000);
      await settle();
      expect((await t.http().get(`/api/webhooks/${id}`).set(admin()).expect(200)).body).toMatchObject({
        status: 'active',
        deliveries: { failed: 1, pending: 0 },
      });
      const re = await t
        .http()
        .post(`/api/webhooks/${id}/deliveries/${failed.id}/redeliver`)
        .set(admin())
        .expect(202);
      expect(re.body).toMatchObject({ status: 'pending', attempts: 0 });
      await settle();
      const last = flaky.received.at(-1)!;
      expect(last.headers['wavegate-event-id']).toBe(failed.eventId);
      expect(
        (await t.http().get(`/api/webhooks/${id}`).set(admin()).expect(200)).body.deliveries,
      ).toMatchObject({ failed: 0, pending: 0 });
      await t.http().delete(`/api/webhooks/${id}`).set(admin()).expect(204);
    } finally {
      await flaky.stop();
    }
  });

  it('a 410 Gone disables the subscription at once', async () => {
    const gone = await new WebhookReceiver().start();
    gone.mode = { status: 410 };
    try {
      const { id } = await subscribe({ format: 'json', events: ['change_request.*'] }, gone);
      await emit('change_request.submitted', '7d0c4d55-1111-4a4a-9a9a-000000000004', {});
      await emit('change_request.approved', '7d0c4d55-1111-4a4a-9a9a-000000000004', {});
      await settle();
      clock.advance(3_600_000);
      await settle();
      expect(gone.received).toHaveLength(1);
      expect((await t.http().get(`/api/webhooks/${id}`).set(admin()).expect(200)).body).toMatchObject({
        enabled: false,
        status: 'disabled',
        statusReason: 'the receiver answered 410 Gone',
      });
      await t.http().delete(`/api/webhooks/${id}`).set(admin()).expect(204);
    } finally {
      await gone.stop();
    }
  });

  it('checks the destination again at send time: a removed allowlist entry stops deliveries', async () => {
    const { id } = await subscribe({ format: 'json', events: ['change_request.*'] });
    await t.http().put('/api/webhooks/allowlist').set(admin()).send({ hosts: [], networks: [] }).expect(200);
    try {
      const before = rx.received.length;
      await emit('change_request.submitted', '7d0c4d55-1111-4a4a-9a9a-000000000005', {});
      await settle();
      expect(rx.received.length).toBe(before);
      const d = (await t.http().get(`/api/webhooks/${id}/deliveries`).set(admin()).expect(200)).body.items[0];
      expect(d).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: null });
      expect(d.lastError).toBe(
        'destination refused: 127.0.0.1 is a loopback address, which is not on the webhook allowlist',
      );
    } finally {
      await t
        .http()
        .put('/api/webhooks/allowlist')
        .set(admin())
        .send({ hosts: [], networks: ['127.0.0.1/32'] })
        .expect(200);
    }
    clock.advance(10_000);
    await settle();
    expect(
      (await t.http().get(`/api/webhooks/${id}/deliveries`).set(admin()).expect(200)).body.items[0],
    ).toMatchObject({ status: 'succeeded', attempts: 2 });
    await t.http().delete(`/api/webhooks/${id}`).set(admin()).expect(204);
  });

  it('cuts an attempt at 5 s and retries it', async () => {
    const slow = await new WebhookReceiver().start();
    slow.mode = { status: 200, delayMs: 7000 };
    try {
      const { id } = await subscribe({ format: 'json', events: ['change_request.*'] }, slow);
      await emit('change_request.submitted', '7d0c4d55-1111-4a4a-9a9a-000000000006', {});
      await t.app.get(EventsDispatcher).settle();
      const d = await waitFor(
        'a timed-out attempt',
        async () =>
          (await t.http().get(`/api/webhooks/${id}/deliveries`).set(admin())).body.items[0]?.history?.[0],
        10_000,
      );
      expect(d).toMatchObject({ statusCode: null, error: 'timeout after 5000 ms' });
      expect(d.latencyMs).toBeGreaterThanOrEqual(4900);
      expect(d.latencyMs).toBeLessThan(6500);
      await t.http().delete(`/api/webhooks/${id}`).set(admin()).expect(204);
    } finally {
      await slow.stop();
    }
  });
});
