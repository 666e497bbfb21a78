import { FakeClock } from '../src/common/clock';
import { verify } from '../src/webhooks/domain/signature';
import {
  apiToken,
  createActors,
  createApps,
  importTenants,
  installations,
  Actors,
} from './support/factories';
import { approvedCr, execute, waitFor as waitForCr } from './support/rollouts';
import { bearer, startTestApp, TestApp } from './support/test-app';
import { WebhookReceiver, waitFor } from './support/webhook-receiver';

const PUBLIC_URL = 'https://wavegate.test';
type SlackBody = {
  text: string;
  blocks: Array<{ type: string; text?: { text: string }; elements?: Array<{ url?: string }> }>;
};

// Issue 8 acceptance with the real engine: a chat receiver gets wave completed, halt and completion of real rollouts,
// each signed and linking to the CR page.
describe('webhooks: Slack messages for a real rollout', () => {
  let t: TestApp;
  let rx: WebhookReceiver;
  let clock: FakeClock;
  let a: Actors;
  let automation: string;
  let secret: string;
  let ids: string[];

  beforeAll(async () => {
    process.env.WAVEGATE_ENGINE_POLL_MS = '20';
    clock = new FakeClock('2026-03-01T10:00:00.000Z');
    t = await startTestApp({ clock, env: { WAVEGATE_PUBLIC_URL: PUBLIC_URL } });
    rx = await new WebhookReceiver().start();
    await t
      .http()
      .put('/api/webhooks/allowlist')
      .set(bearer(t.adminToken))
      .send({ hosts: [], networks: ['127.0.0.1/32'] })
      .expect(200);
    const sub = await t
      .http()
      .post('/api/webhooks')
      .set(bearer(t.adminToken))
      .send({
        name: '#rollouts',
        url: rx.url,
        format: 'slack',
        events: ['change_request.wave_completed', 'change_request.halted', 'change_request.completed'],
      })
      .expect(201);
    secret = sub.body.secret as string;
    a = await createActors(t);
    automation = await apiToken(t, 'automation');
    await createApps(t);
    ids = await importTenants(t, 40);
  });
  afterAll(async () => {
    await rx.stop();
    await t.close();
  });

  const checkSigned = (cr: string) => {
    // the sender stamps signatures with the service's clock (a FakeClock here)
    const now = Math.floor(clock.now().getTime() / 1000);
    for (const r of rx.received) {
      expect(verify(r.headers['wavegate-signature'] as string, r.body, secret, now)).toMatchObject({
        ok: true,
      });
      const body = r.json as SlackBody;
      if (r.headers['wavegate-event-type'] === 'webhook.ping') continue;
      expect(body.text).toContain(`${PUBLIC_URL}/ui/change-requests/${cr}`);
      expect(body.blocks.find((b) => b.type === 'actions')?.elements?.[0]?.url).toBe(
        `${PUBLIC_URL}/ui/change-requests/${cr}`,
      );
    }
  };

  it('sends one message per completed wave and one on completion', async () => {
    const cr = await approvedCr(t, a.maker.token, [a.checker1.token, a.checker2.token], {
      title: 'Retire Insight for three tenants',
      targets: installations(ids.slice(0, 3), 'insight'),
      waves: { sizes: [1, 2], bakeSeconds: 1 },
    });
    await execute(t, a.checker1.token, cr.id);
    await waitForCr(t, a.viewer.token, cr.id, (p) => p.waves[0]?.status === 'completed');
    clock.advance(2_000);
    await waitForCr(t, a.viewer.token, cr.id, (p) => p.status === 'completed');
    const got = await waitFor('three messages', () => rx.received.length >= 3 && rx.received);
    expect(got.map((r) => r.headers['wavegate-event-type'])).toEqual([
      'change_request.wave_completed',
      'change_request.wave_completed',
      'change_request.completed',
    ]);
    checkSigned(cr.id);
    rx.received.length = 0;
  });

  it('sends the halt with its reason', async () => {
    const cr = await approvedCr(t, a.maker.token, [a.checker1.token, a.checker2.token], {
      title: 'Retire Insight for ten tenants',
      targets: installations(ids.slice(10, 20), 'insight'),
      waves: { sizes: [1, 2], bakeSeconds: 60 },
    });
    await execute(t, a.checker1.token, cr.id);
    await waitForCr(t, a.viewer.token, cr.id, (p) => p.waves[0]?.status === 'completed');
    await t
      .http()
      .post('/api/signals')
      .set(bearer(automation))
      .send({
        source: 'alerts',
        severity: 'critical',
        changeRequestId: cr.id,
        message: 'checkout errors up 12x',
      })
      .expect(201);
    const got = await waitFor(
      'wave and halt messages',
      () =>
        rx.received.some((r) => r.headers['wavegate-event-type'] === 'change_request.halted') && rx.received,
    );
    const halt = got.find((r) => r.headers['wavegate-event-type'] === 'change_request.halted')!;
    expect(JSON.stringify(halt.json)).toContain('checkout errors up 12x');
    checkSigned(cr.id);
  });
});
