import { verify } from '../src/webhooks/domain/signature';
import {
  createActors,
  createApps,
  importTenants,
  installations,
  approveCr,
  pendingCr,
  crBody,
} from './support/factories';
import { bearer, startTestApp, TestApp } from './support/test-app';
import { WebhookReceiver, waitFor } from './support/webhook-receiver';

const PUBLIC_URL = 'https://wavegate.test';

type SlackBody = {
  text: string;
  blocks: Array<{
    type: string;
    text?: { text: string };
    fields?: Array<{ text: string }>;
    elements?: Array<Record<string, unknown>>;
  }>;
};

// A real change request, driven through the API, reaches a real chat receiver (issue 8 acceptance, with issue 3).
describe('webhooks: Slack messages for a real change request', () => {
  let t: TestApp;
  let rx: WebhookReceiver;

  beforeAll(async () => {
    t = await startTestApp({ env: { WAVEGATE_PUBLIC_URL: PUBLIC_URL } });
    rx = await new WebhookReceiver().start();
  });
  afterAll(async () => {
    await rx.stop();
    await t.close();
  });

  it('sends "approval needed" on submit and "approved" on approve, signed, with the author by name and a link', async () => {
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
        name: '#approvals',
        url: rx.url,
        format: 'slack',
        events: ['change_request.submitted', 'change_request.approved'],
      })
      .expect(201);
    const actors = await createActors(t);
    await createApps(t);
    const ids = await importTenants(t, 30);
    const cr = await pendingCr(
      t,
      actors.maker.token,
      crBody({ title: 'Retire Insight for two tenants', targets: installations(ids.slice(0, 2), 'insight') }),
    );
    await approveCr(t, actors.checker1.token, cr);

    const got = await waitFor('two messages', () => rx.received.length >= 2 && rx.received);
    const now = Math.floor(Date.now() / 1000);
    expect(got.map((r) => r.headers['wavegate-event-type'])).toEqual([
      'change_request.submitted',
      'change_request.approved',
    ]);
    const link = `${PUBLIC_URL}/ui/change-requests/${cr.id}`;
    const maker = (await t.http().get(`/api/users/${actors.maker.id}`).set(bearer(t.adminToken)).expect(200))
      .body as { name: string };
    for (const r of got) {
      expect(
        verify(r.headers['wavegate-signature'] as string, r.body, sub.body.secret as string, now),
      ).toMatchObject({ ok: true });
      const body = r.json as SlackBody;
      expect(body.text).toContain(link);
      expect(body.blocks.find((b) => b.type === 'actions')?.elements?.[0]).toMatchObject({
        type: 'button',
        url: link,
      });
      const fields = body.blocks.find((b) => b.fields)!.fields!.map((f) => f.text);
      expect(fields).toEqual(
        expect.arrayContaining([`*Author*\n${maker.name}`, '*Targets*\n2', '*Reversible*\nYes']),
      );
      expect(JSON.stringify(body)).toContain('Retire Insight for two tenants');
    }
    expect((got[0].json as SlackBody).blocks[0].text!.text).toBe(
      '⏳ Approval needed: Deactivate app installations',
    );
    expect((got[1].json as SlackBody).blocks[0].text!.text).toBe('✅ Approved: Deactivate app installations');
  });
});
