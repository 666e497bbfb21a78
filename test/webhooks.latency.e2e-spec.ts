import { EventsDispatcher } from '../src/events/events.dispatcher';
import {
  approveCr,
  createActors,
  createApps,
  crBody,
  CrView,
  importTenants,
  installations,
  pendingCr,
} from './support/factories';
import { bearer, startTestApp, TestApp } from './support/test-app';
import { WebhookReceiver, waitFor } from './support/webhook-receiver';

// Acceptance (issue 8): delivery does not slow down the request that caused the event. The request only writes the
// outbox; sending happens later, elsewhere. Measured with the real system clock and a real receiver that is up,
// slow (answers after 4 s) or down (connections refused), on the request that emits the event: a change request's
// approve call (the acceptance's example), plus user creation and token creation.

const N = 8;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe('webhooks: delivery does not slow down the request that caused the event', () => {
  let t: TestApp;
  let rx: WebhookReceiver;
  let checker: string;
  const crs: CrView[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    rx = await new WebhookReceiver().start();
    await t
      .http()
      .put('/api/webhooks/allowlist')
      .set(bearer(t.adminToken))
      .send({ hosts: [], networks: ['127.0.0.1/32'] })
      .expect(200);
    await t
      .http()
      .post('/api/webhooks')
      .set(bearer(t.adminToken))
      .send({
        name: 'latency',
        url: rx.url,
        format: 'slack',
        events: ['user.created', 'token.created', 'change_request.*'],
      })
      .expect(201);
    const actors = await createActors(t);
    checker = actors.checker1.token;
    await createApps(t);
    const ids = await importTenants(t, 40);
    // One pending change request per approve we measure (warm-up + 3 modes), one installation each.
    for (let i = 0; i < 4 * N; i++) {
      crs.push(
        await pendingCr(
          t,
          actors.maker.token,
          crBody({ title: `latency ${i}`, targets: installations([ids[i]], 'insight') }),
        ),
      );
    }
  });
  afterAll(async () => {
    await rx.stop();
    await t.close();
  });

  async function measure(label: string): Promise<{ approves: number[]; users: number[]; tokens: number[] }> {
    const approves: number[] = [];
    const users: number[] = [];
    const tokens: number[] = [];
    for (let i = 0; i < N; i++) {
      let start = performance.now();
      await approveCr(t, checker, crs.shift()!);
      approves.push(performance.now() - start);
      start = performance.now();
      await t
        .http()
        .post('/api/users')
        .set(bearer(t.adminToken))
        .send({
          email: `${label}-${i}@test.local`,
          name: `${label} ${i}`,
          password: 'user-password-123',
          roles: ['viewer'],
        })
        .expect(201);
      users.push(performance.now() - start);
      start = performance.now();
      await t
        .http()
        .post('/api/tokens')
        .set(bearer(t.adminToken))
        .send({ name: `${label}-${i}`, kind: 'automation' })
        .expect(201);
      tokens.push(performance.now() - start);
    }
    return { approves, users, tokens };
  }

  it('approve, user and token creation take the same time with the receiver up, slow (4 s) and down', async () => {
    const results: Record<string, { approves: number[]; users: number[]; tokens: number[] }> = {};

    rx.mode = { status: 200 };
    await measure('warmup');
    results.up = await measure('up');
    await t.app.get(EventsDispatcher).settle();
    await waitFor('deliveries while up', () => rx.ofType('change_request.approved').length >= 2 * N, 30_000);

    rx.mode = { status: 200, delayMs: 4000 };
    const before = rx.received.length;
    results.slow = await measure('slow');
    // The receiver really was slow while we measured: a delivery was waiting on it.
    expect(rx.received.length).toBeGreaterThan(before);

    await rx.stop();
    results.down = await measure('down');

    const row = (k: string) => ({
      mode: k,
      approveMedianMs: Math.round(median(results[k].approves)),
      approveMaxMs: Math.round(Math.max(...results[k].approves)),
      userMedianMs: Math.round(median(results[k].users)),
      userMaxMs: Math.round(Math.max(...results[k].users)),
      tokenMedianMs: Math.round(median(results[k].tokens)),
      tokenMaxMs: Math.round(Math.max(...results[k].tokens)),
    });
    const table = ['up', 'slow', 'down'].map(row);
    process.stdout.write(
      `\nwebhook latency (N=${N} each):\n${table.map((r) => JSON.stringify(r)).join('\n')}\n`,
    );

    const up = table[0];
    for (const r of table.slice(1)) {
      // Generous, because the suite shares a small CI machine with others (argon2 hashing dominates user creation):
      // the medians stay within 2x (or +1 s / +250 ms) of the receiver-up figures, and no single request comes near
      // the 4 s it would take if it waited on the slow receiver.
      expect(r.approveMedianMs).toBeLessThan(Math.max(up.approveMedianMs * 2, up.approveMedianMs + 250));
      expect(r.approveMaxMs).toBeLessThan(3500);
      expect(r.userMedianMs).toBeLessThan(Math.max(up.userMedianMs * 2, up.userMedianMs + 1000));
      expect(r.tokenMedianMs).toBeLessThan(Math.max(up.tokenMedianMs * 2, up.tokenMedianMs + 250));
      expect(r.userMaxMs).toBeLessThan(3500);
      expect(r.tokenMaxMs).toBeLessThan(3500);
    }
  });
});
