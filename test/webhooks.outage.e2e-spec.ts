import { FakeClock } from '../src/common/clock';
import { EventsDispatcher } from '../src/events/events.dispatcher';
import { verify } from '../src/webhooks/domain/signature';
import { WebhookDeliveryWorker } from '../src/webhooks/webhook-delivery.worker';
import { bearer, startTestApp, TestApp } from './support/test-app';
import { WebhookReceiver, waitFor } from './support/webhook-receiver';

// Acceptance (issue 8): a receiver that refuses connections while 50 events happen gets every event when it comes
// back, exactly once per event id, in order; also when the service restarts in the middle of the outage.

const LONG_SESSIONS = { WAVEGATE_SESSION_TTL_SECONDS: String(30 * 24 * 3600) };

async function allowLoopback(t: TestApp) {
  await t
    .http()
    .put('/api/webhooks/allowlist')
    .set(bearer(t.adminToken))
    .send({ hosts: [], networks: ['127.0.0.1/32'] })
    .expect(200);
}

async function makeTokens(t: TestApp, n: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await t
      .http()
      .post('/api/tokens')
      .set(bearer(t.adminToken))
      .send({ name: `${prefix}-${i}`, kind: 'automation' })
      .expect(201);
    ids.push(res.body.id as string);
  }
  return ids;
}

async function settle(t: TestApp) {
  await t.app.get(EventsDispatcher).settle();
  await t.app.get(WebhookDeliveryWorker).settle();
}

/** While down: let the head delivery fail a few times, as it would over a real outage. */
async function failAFewTimes(t: TestApp, clock: FakeClock) {
  for (let i = 0; i < 3; i++) {
    clock.advance(20_000);
    await settle(t);
  }
}

function expectExactlyOnceInOrder(
  rx: WebhookReceiver,
  tokenIds: string[],
  secret: string,
  nowSeconds: number,
) {
  const got = rx.received.map((r) => ({
    eventId: r.headers['wavegate-event-id'] as string,
    entityId: (r.json as { entityId: string }).entityId,
    ok: verify(r.headers['wavegate-signature'] as string, r.body, secret, nowSeconds).ok,
  }));
  // Duplicates, if there were any, would carry the same event id; with a clean shutdown there are none.
  expect(new Set(got.map((g) => g.eventId)).size).toBe(tokenIds.length);
  expect(got).toHaveLength(tokenIds.length);
  expect(got.map((g) => g.entityId)).toEqual(tokenIds);
  expect(got.every((g) => g.ok)).toBe(true);
}

describe('webhooks: an outage loses nothing (issue 8 acceptance)', () => {
  it('receiver refuses connections while 50 events happen, then comes back: each event exactly once, in order', async () => {
    const clock = new FakeClock(new Date());
    const t = await startTestApp({ clock, env: LONG_SESSIONS });
    const rx = await new WebhookReceiver().start();
    try {
      await allowLoopback(t);
      const sub = await t
        .http()
        .post('/api/webhooks')
        .set(bearer(t.adminToken))
        .send({ name: 'outage', url: rx.url, format: 'json', events: ['token.created'] })
        .expect(201);
      await rx.stop();

      const ids = await makeTokens(t, 50, 'outage');
      await settle(t);
      await failAFewTimes(t, clock);
      const pending = (
        await t
          .http()
          .get(`/api/webhooks/${sub.body.id}/deliveries?limit=100`)
          .set(bearer(t.adminToken))
          .expect(200)
      ).body.items as Array<{ status: string; attempts: number; lastError: string | null }>;
      expect(pending).toHaveLength(50);
      expect(pending.every((d) => d.status === 'pending')).toBe(true);
      // Only the head was tried: the others wait their turn.
      expect(pending.at(-1)!.attempts).toBe(4);
      expect(pending.at(-1)!.lastError).toMatch(/ECONNREFUSED/);
      expect(pending.slice(0, -1).every((d) => d.attempts === 0)).toBe(true);

      await rx.start();
      clock.advance(3_600_000);
      await settle(t);
      await waitFor('50 deliveries', () => rx.received.length >= 50);
      await settle(t);
      expectExactlyOnceInOrder(rx, ids, sub.body.secret as string, Math.floor(clock.now().getTime() / 1000));
    } finally {
      await rx.stop();
      await t.close();
    }
  });

  it('the same with the service restarted in the middle of the outage', async () => {
    const clock1 = new FakeClock(new Date());
    const t1 = await startTestApp({ clock: clock1, env: LONG_SESSIONS });
    const rx = await new WebhookReceiver().start();
    let t2: TestApp | undefined;
    try {
      await allowLoopback(t1);
      const sub = await t1
        .http()
        .post('/api/webhooks')
        .set(bearer(t1.adminToken))
        .send({ name: 'outage', url: rx.url, format: 'json', events: ['token.created'] })
        .expect(201);
      await rx.stop();
      const first = await makeTokens(t1, 25, 'before');
      await settle(t1);
      await failAFewTimes(t1, clock1);
      // Stop without waiting for anything more; the second app must pick up where this one left off.
      const last = await makeTokens(t1, 5, 'racing');
      await t1.close({ keepDatabase: true });

      const clock2 = new FakeClock(clock1.now());
      t2 = await startTestApp({ clock: clock2, env: LONG_SESSIONS, database: t1.database });
      const more = await makeTokens(t2, 20, 'after');
      await settle(t2);
      await failAFewTimes(t2, clock2);
      expect(rx.received).toHaveLength(0);

      await rx.start();
      clock2.advance(3_600_000);
      await settle(t2);
      await waitFor('50 deliveries', () => rx.received.length >= 50);
      await settle(t2);
      expectExactlyOnceInOrder(
        rx,
        [...first, ...last, ...more],
        sub.body.secret as string,
        Math.floor(clock2.now().getTime() / 1000),
      );
    } finally {
      await rx.stop();
      if (t2) await t2.close();
      else await t1.close();
    }
  });
});
