import { DataSource } from 'typeorm';
import { slackSignature } from '../src/slack/domain/slack-signature';
import { SlackLinkCodeEntity } from '../src/slack/slack-link.entity';
import {
  createActors,
  createApps,
  crBody,
  importTenants,
  installations,
  pendingCr,
} from './support/factories';
import { bearer, startTestApp, TestApp } from './support/test-app';
import { WebhookReceiver, waitFor } from './support/webhook-receiver';

// Approve from Slack (issue 15, ADR 0017): a Slack user linked once to a Wavegate user presses Approve or Reject on
// a change request's Slack message; the request is signed by Slack (`v0`), the button names the plan hash its
// message showed, and the approval goes through the same command path as the REST route, so every rule holds.
// Everything a refused press must not change is compared before and after: the CR (status, revision, approvals)
// and its audit entries.

const SIGNING_SECRET = '0123456789abcdef0123456789abcdef';
const PUBLIC_URL = 'https://wavegate.test';
const TEAM = 'T0WAVE';

type SlackBody = {
  text: string;
  blocks: Array<{
    type: string;
    block_id?: string;
    text?: { text: string };
    elements?: Array<Record<string, unknown>>;
  }>;
};

describe('Slack approvals', () => {
  let t: TestApp;
  let slackRx: WebhookReceiver; // Slack's response_url
  let chatRx: WebhookReceiver; // the #approvals channel (incoming webhook)
  let jsonRx: WebhookReceiver;
  let a: Awaited<ReturnType<typeof createActors>>;
  let tenants: string[];
  let makerChecker: { token: string; id: string };
  let n = 0;

  beforeAll(async () => {
    slackRx = await new WebhookReceiver().start();
    chatRx = await new WebhookReceiver().start();
    jsonRx = await new WebhookReceiver().start();
    t = await startTestApp({
      env: {
        WAVEGATE_PUBLIC_URL: PUBLIC_URL,
        WAVEGATE_SLACK_SIGNING_SECRET: SIGNING_SECRET,
        WAVEGATE_SLACK_RESPONSE_ORIGINS: `http://127.0.0.1:${slackRx.port}`,
      },
    });
    a = await createActors(t);
    makerChecker = await t.userToken(['maker', 'checker']);
    await createApps(t);
    // 40 tenants: two or three targets stay under the blast-radius limit (10 %), so one approval is the quorum.
    tenants = await importTenants(t, 40);
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([slackRx.stop(), chatRx.stop(), jsonRx.stop()]);
  });

  const nowSeconds = () => Math.floor(Date.now() / 1000);

  /** A request as Slack sends it: form-encoded, signed over the raw body with the timestamp. */
  function slack(
    path: 'commands' | 'interactions',
    form: Record<string, string>,
    o: { timestamp?: number; secret?: string; signature?: string } = {},
  ) {
    const body = new URLSearchParams(form).toString();
    const ts = String(o.timestamp ?? nowSeconds());
    return t
      .http()
      .post(`/api/slack/${path}`)
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .set('X-Slack-Request-Timestamp', ts)
      .set('X-Slack-Signature', o.signature ?? slackSignature(o.secret ?? SIGNING_SECRET, ts, body))
      .send(body);
  }

  const command = (user: string, text: string) =>
    slack('commands', {
      command: '/wavegate',
      text,
      team_id: TEAM,
      team_domain: 'wave',
      user_id: user,
      user_name: user.toLowerCase(),
      response_url: `http://127.0.0.1:${slackRx.port}/commands/1`,
    });

  function pressForm(user: string, action: 'approve' | 'reject', value: string, reason?: string) {
    return {
      payload: JSON.stringify({
        type: 'block_actions',
        user: { id: user, team_id: TEAM, username: user.toLowerCase() },
        team: { id: TEAM, domain: 'wave' },
        actions: [{ action_id: `wavegate_${action}`, value, type: 'button' }],
        state:
          reason === undefined
            ? { values: {} }
            : { values: { wavegate_reject_reason: { reason: { value: reason } } } },
        response_url: `http://127.0.0.1:${slackRx.port}/actions/${++n}`,
      }),
    };
  }
  const valueOf = (cr: { id: string; planHash: string }) =>
    JSON.stringify({ id: cr.id, planHash: cr.planHash });
  const press = (
    user: string,
    action: 'approve' | 'reject',
    cr: { id: string; planHash: string },
    reason?: string,
  ) => slack('interactions', pressForm(user, action, valueOf(cr), reason));

  async function linkSlack(token: string, slackUser: string): Promise<string> {
    const code = await t.http().post('/api/slack/link-code').set(bearer(token)).expect(201);
    const res = await command(slackUser, `link ${code.body.code as string}`).expect(200);
    expect(res.body.text).toMatch(/^:link: Linked/);
    return res.body.text as string;
  }

  /** What a refused press must leave alone: the CR's state and approvals, and its audit entries. */
  async function state(id: string) {
    const cr = await t.http().get(`/api/change-requests/${id}`).set(bearer(t.adminToken)).expect(200);
    const audit = await t
      .http()
      .get(`/api/audit?entityId=${id}&limit=200`)
      .set(bearer(t.adminToken))
      .expect(200);
    return {
      status: cr.body.status as string,
      revision: cr.body.revision as number,
      planHash: cr.body.planHash as string,
      approvals: cr.body.approvals as unknown[],
      audit: (audit.body.items as { action: string; hash: string }[]).map((e) => `${e.action}:${e.hash}`),
    };
  }

  const newCr = (token = a.maker.token, title = 'Retire insight') =>
    pendingCr(t, token, crBody({ title, targets: installations(tenants.slice(0, 2), 'insight') }));

  it('links a Slack user with a one-time code from the UI, shows the link, and never the code or the secret again', async () => {
    const before = await t.http().get('/api/slack/link').set(bearer(a.checker1.token)).expect(200);
    expect(before.body).toEqual({ configured: true, link: null, pendingCodeExpiresAt: null });

    const code = await t.http().post('/api/slack/link-code').set(bearer(a.checker1.token)).expect(201);
    expect(code.body.code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    expect(code.body.command).toBe(`/wavegate link ${code.body.code as string}`);
    const pending = await t.http().get('/api/slack/link').set(bearer(a.checker1.token)).expect(200);
    expect(new Date(pending.body.pendingCodeExpiresAt as string).getTime()).toBeGreaterThan(
      Date.now() + 9 * 60_000,
    );
    expect(JSON.stringify(pending.body)).not.toContain(code.body.code);

    // Typed in lower case without dashes: still the code.
    const typed = (code.body.code as string).toLowerCase().replace(/-/g, '');
    const linked = await command('U0CAROL', `link ${typed}`).expect(200);
    expect(linked.body).toMatchObject({ response_type: 'ephemeral' });
    expect(linked.body.text).toContain('Linked: your Slack user now acts as');
    const after = await t.http().get('/api/slack/link').set(bearer(a.checker1.token)).expect(200);
    expect(after.body).toMatchObject({
      configured: true,
      pendingCodeExpiresAt: null,
      link: { slackTeamId: TEAM, slackTeamDomain: 'wave', slackUserId: 'U0CAROL', slackUserName: 'u0carol' },
    });
    for (const body of [before.body, code.body, pending.body, after.body])
      expect(JSON.stringify(body)).not.toContain(SIGNING_SECRET);

    // A code works once.
    const again = await command('U0OTHER', `link ${code.body.code as string}`).expect(200);
    expect(again.body.text).toMatch(/unknown or expired.*Nothing was linked/);
    // A Slack user linked to someone cannot be taken over with another person's code.
    const other = await t.http().post('/api/slack/link-code').set(bearer(a.checker2.token)).expect(201);
    const taken = await command('U0CAROL', `link ${other.body.code as string}`).expect(200);
    expect(taken.body.text).toMatch(/already linked to .*Nothing was linked/);
    const whoami = await command('U0CAROL', 'whoami').expect(200);
    expect(whoami.body.text).toContain('acts as');

    const audit = await t
      .http()
      .get(`/api/audit?entityId=${a.checker1.id}&limit=50`)
      .set(bearer(t.adminToken))
      .expect(200);
    const actions = (audit.body.items as { action: string; data: Record<string, unknown> }[]).map(
      (e) => e.action,
    );
    expect(actions).toEqual(expect.arrayContaining(['slack.link_code_created', 'slack.linked']));
    expect(JSON.stringify(audit.body)).not.toContain(code.body.code);

    // People only; signed-in only.
    const automation = await t
      .http()
      .post('/api/tokens')
      .set(bearer(t.adminToken))
      .send({ name: 'ci', kind: 'automation' })
      .expect(201);
    await t
      .http()
      .post('/api/slack/link-code')
      .set(bearer(automation.body.token as string))
      .expect(403);
    await t.http().get('/api/slack/link').expect(401);
  });

  it('approves from the button of the Slack message, exactly the plan hash it showed, as the linked checker', async () => {
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
      .send({ name: '#approvals', url: chatRx.url, format: 'slack', events: ['change_request.*'] })
      .expect(201);
    const cr = await newCr(a.maker.token, 'Retire insight for two tenants');
    const msg = await waitFor('the approval-needed message', () =>
      chatRx.received.find((r) => r.headers['wavegate-event-type'] === 'change_request.submitted'),
    );
    const body = msg.json as SlackBody;
    const buttons = body.blocks.find((b) => b.type === 'actions')!.elements!;
    const approve = buttons.find((b) => b.action_id === 'wavegate_approve')!;
    expect(JSON.parse(approve.value as string)).toEqual({ id: cr.id, planHash: cr.planHash });
    expect(body.blocks.some((b) => b.type === 'input' && b.block_id === 'wavegate_reject_reason')).toBe(true);

    const before = await state(cr.id);
    const res = await slack('interactions', pressForm('U0CAROL', 'approve', approve.value as string)).expect(
      200,
    );
    expect(res.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(res.body.text).toMatch(
      /^:white_check_mark: You approved .*Retire insight for two tenants.* and is now \*approved\*/,
    );
    const after = await state(cr.id);
    expect(after.status).toBe('approved');
    expect(after.approvals).toEqual([
      expect.objectContaining({ userId: `user:${a.checker1.id}`, planHash: cr.planHash }),
    ]);
    expect(after.audit.length).toBe(before.audit.length + 1);
    expect(after.audit[0]).toMatch(/^change_request\.approved:/);
    // Slack shows a button's answer from its response_url: the same ephemeral text arrives there.
    const posted = await waitFor('the answer at response_url', () =>
      slackRx.received.find((r) => (r.json as { text?: string } | null)?.text === res.body.text),
    );
    expect(posted.json).toMatchObject({ response_type: 'ephemeral', replace_original: false });

    // The approved message names the approver, the actor and the author.
    const approved = await waitFor('the approved message', () =>
      chatRx.received.find((r) => r.headers['wavegate-event-type'] === 'change_request.approved'),
    );
    const names = await t.http().get('/api/people').set(bearer(a.viewer.token)).expect(200);
    const nameOf = (id: string) =>
      (names.body.items as { id: string; name: string }[]).find((p) => p.id === `user:${id}`)!.name;
    const text = JSON.stringify(approved.json);
    expect(text).toContain(`By *${nameOf(a.checker1.id)}*`);
    expect(text).toContain(`*Approvals*\\n1 of 1: ${nameOf(a.checker1.id)}`);
    expect(text).toContain(`*Author*\\n${nameOf(a.maker.id)}`);
    expect(text).not.toContain('wavegate_approve');
  });

  it('refuses a forged signature, an old timestamp, an unlinked user, the author and a stale plan, changing nothing', async () => {
    await linkSlack(makerChecker.token, 'U0SELF');
    const cr = await newCr(makerChecker.token, 'Author is also a checker');
    const before = await state(cr.id);

    // 1. Forged: signed with another secret.
    const forged = await slack('interactions', pressForm('U0CAROL', 'approve', valueOf(cr)), {
      secret: 'ffffffffffffffffffffffffffffffff',
    });
    expect(forged.status).toBe(401);
    expect(forged.body).toMatchObject({ code: 'SLACK.BAD_SIGNATURE' });
    expect(forged.body.message).toMatch(/does not match/);
    // ... and a body changed after signing.
    const ts = String(nowSeconds());
    const tampered = await t
      .http()
      .post('/api/slack/interactions')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .set('X-Slack-Request-Timestamp', ts)
      .set(
        'X-Slack-Signature',
        slackSignature(
          SIGNING_SECRET,
          ts,
          new URLSearchParams(pressForm('U0DAN', 'approve', valueOf(cr))).toString(),
        ),
      )
      .send(new URLSearchParams(pressForm('U0CAROL', 'approve', valueOf(cr))).toString())
      .expect(401);
    expect(tampered.body.code).toBe('SLACK.BAD_SIGNATURE');
    const unsigned = await t
      .http()
      .post('/api/slack/interactions')
      .type('form')
      .send(pressForm('U0CAROL', 'approve', valueOf(cr)))
      .expect(401);
    expect(unsigned.body.code).toBe('SLACK.SIGNATURE_MISSING');

    // 2. Old: correctly signed six minutes ago (a replay).
    const old = await slack('interactions', pressForm('U0CAROL', 'approve', valueOf(cr)), {
      timestamp: nowSeconds() - 360,
    }).expect(401);
    expect(old.body).toMatchObject({ code: 'SLACK.TIMESTAMP_OUT_OF_RANGE' });
    expect(old.body.message).toMatch(/within 5 minutes/);

    // 3. A Slack user nobody linked.
    const unlinked = await press('U0NOBODY', 'approve', cr).expect(200);
    expect(unlinked.body).toMatchObject({ response_type: 'ephemeral' });
    expect(unlinked.body.text).toMatch(
      /not linked to a Wavegate user.*\/wavegate link <code>.*Nothing was approved\./,
    );

    // 4. The author's own Slack user (the author holds the checker role too): four eyes.
    const self = await press('U0SELF', 'approve', cr).expect(200);
    expect(self.body.text).toMatch(
      /You wrote this change request; someone else must approve it\. Nothing was approved\./,
    );

    // 5. A stale button: the plan changed after the message was posted.
    const edited = await t
      .http()
      .patch(`/api/change-requests/${cr.id}`)
      .set(bearer(makerChecker.token))
      .send({ targets: installations(tenants.slice(0, 3), 'insight') })
      .expect(200);
    expect(edited.body.planHash).not.toBe(cr.planHash);
    const beforeStale = await state(cr.id);
    const stale = await press('U0CAROL', 'approve', cr).expect(200);
    expect(stale.body.text).toBe(
      `:warning: The plan changed since this message was posted: it showed plan \`${cr.planHash.slice(0, 12)}\`, ` +
        `the plan now is \`${(edited.body.planHash as string).slice(0, 12)}\`. Nothing was approved. ` +
        `Review the current plan: <${PUBLIC_URL}/ui/change-requests/${cr.id}|Open the change request>.`,
    );
    expect(await state(cr.id)).toEqual(beforeStale);
    // Only the edit changed the CR in all of the above.
    expect(beforeStale.audit.length).toBe(before.audit.length + 1);
    expect(beforeStale.audit.slice(1)).toEqual(before.audit);
    expect(beforeStale.approvals).toEqual([]);

    // 6. A linked viewer is not a checker.
    await linkSlack(a.viewer.token, 'U0VIC');
    const viewer = await press('U0VIC', 'approve', edited.body).expect(200);
    expect(viewer.body.text).toMatch(/needs the checker role\. Nothing was approved\./);
    expect(await state(cr.id)).toEqual(beforeStale);

    // The current plan, by a linked checker who did not write it: approved.
    const ok = await press('U0CAROL', 'approve', edited.body).expect(200);
    expect(ok.body.text).toMatch(/You approved/);
    // Pressed again (Slack retries, people double-click): one person counts once.
    const twice = await press('U0CAROL', 'approve', edited.body).expect(200);
    expect(twice.body.text).toMatch(
      /Cannot approve a change request that is approved.*Nothing was approved\./,
    );
  });

  it('rejects with the reason typed in the message, and refuses a reject without one or for a stale plan', async () => {
    const cr = await newCr(a.maker.token, 'Reject me');
    const before = await state(cr.id);
    const noReason = await press('U0CAROL', 'reject', cr, '   ').expect(200);
    expect(noReason.body.text).toMatch(/Say why you reject.*Nothing was rejected\./);
    const stale = await press(
      'U0CAROL',
      'reject',
      { id: cr.id, planHash: 'e'.repeat(64) },
      'wrong ids',
    ).expect(200);
    expect(stale.body.text).toMatch(/The plan changed since this message was posted.*Nothing was rejected\./);
    expect(await state(cr.id)).toEqual(before);

    const res = await press('U0CAROL', 'reject', cr, 'These are site ids, not app ids').expect(200);
    expect(res.body.text).toMatch(/^:x: You rejected .*Reject me.* It is now \*rejected\*\./);
    const after = await t.http().get(`/api/change-requests/${cr.id}`).set(bearer(a.viewer.token)).expect(200);
    expect(after.body.status).toBe('rejected');
    expect(after.body.statusReason).toBe('These are site ids, not app ids');
    const rejected = await waitFor('the rejected message', () =>
      chatRx.received.find(
        (r) => r.headers['wavegate-event-type'] === 'change_request.rejected' && r.body.includes(cr.id),
      ),
    );
    expect(rejected.body).toContain('These are site ids, not app ids');
  });

  it('names the commenter and the mentioned in Slack and json webhooks, under a comment headline', async () => {
    await t
      .http()
      .post('/api/webhooks')
      .set(bearer(t.adminToken))
      .send({ name: 'audit-sink', url: jsonRx.url, format: 'json', events: ['change_request.commented'] })
      .expect(201);
    const cr = await newCr(a.maker.token, 'Discuss me');
    const people = await t.http().get('/api/people').set(bearer(a.viewer.token)).expect(200);
    const person = (id: string) =>
      (people.body.items as { id: string; name: string; email: string }[]).find(
        (p) => p.id === `user:${id}`,
      )!;
    await t
      .http()
      .post(`/api/change-requests/${cr.id}/comments`)
      .set(bearer(a.checker2.token))
      .send({ body: `@${person(a.maker.id).name} why three waves?` })
      .expect(201);
    const chat = await waitFor('the comment message', () =>
      chatRx.received.find((r) => r.headers['wavegate-event-type'] === 'change_request.commented'),
    );
    const body = chat.json as SlackBody;
    expect(body.blocks[0].text!.text).toBe('💬 New comment: Deactivate app installations');
    expect(JSON.stringify(body)).toContain(
      `*${person(a.checker2.id).name}* commented, mentioning *${person(a.maker.id).name}*:`,
    );
    expect(body.text).toContain(`by ${person(a.checker2.id).name}`);
    const json = await waitFor('the json comment', () => jsonRx.received[0]);
    const data = (json.json as { data: Record<string, unknown>; actor: string }).data;
    // The committed event is unchanged (ids); the people come by name beside it.
    expect(data.commentBy).toBe(`user:${a.checker2.id}`);
    expect(data.author).toBe(`user:${a.maker.id}`);
    expect(data.people).toEqual({
      actor: {
        id: `user:${a.checker2.id}`,
        name: person(a.checker2.id).name,
        email: person(a.checker2.id).email,
      },
      author: { id: `user:${a.maker.id}`, name: person(a.maker.id).name, email: person(a.maker.id).email },
      approvers: [],
      commentBy: {
        id: `user:${a.checker2.id}`,
        name: person(a.checker2.id).name,
        email: person(a.checker2.id).email,
      },
      mentions: [
        { id: `user:${a.maker.id}`, name: person(a.maker.id).name, email: person(a.maker.id).email },
      ],
    });
  });

  it('acts with the linked user as they are now: a lost checker role or a disabled user approves nothing', async () => {
    const dana = await t.userToken(['checker']);
    await linkSlack(dana.token, 'U0DANA');
    const cr = await newCr(a.maker.token, 'Roles are read at the press');
    const before = await state(cr.id);
    await t
      .http()
      .patch(`/api/users/${dana.id}`)
      .set(bearer(t.adminToken))
      .send({ roles: ['viewer'] })
      .expect(200);
    const demoted = await press('U0DANA', 'approve', cr).expect(200);
    expect(demoted.body.text).toMatch(/needs the checker role\. Nothing was approved\./);
    await t
      .http()
      .patch(`/api/users/${dana.id}`)
      .set(bearer(t.adminToken))
      .send({ roles: ['checker'], disabled: true })
      .expect(200);
    const disabled = await press('U0DANA', 'approve', cr).expect(200);
    expect(disabled.body.text).toBe(
      'The Wavegate user linked to your Slack user is disabled. Nothing was approved.',
    );
    expect(await state(cr.id)).toEqual(before);
  });

  it('links nothing with an expired code', async () => {
    const code = await t.http().post('/api/slack/link-code').set(bearer(a.checker3.token)).expect(201);
    // Ten minutes pass (the service's clock is the system's; the stored expiry is moved instead).
    await t.app
      .get(DataSource)
      .getRepository(SlackLinkCodeEntity)
      .update({ userId: a.checker3.id }, { expiresAt: new Date(Date.now() - 1000) });
    const res = await command('U0LATE', `link ${code.body.code as string}`).expect(200);
    expect(res.body.text).toMatch(/unknown or expired.*Nothing was linked\./);
    expect(
      (await t.http().get('/api/slack/link').set(bearer(a.checker3.token)).expect(200)).body,
    ).toMatchObject({
      link: null,
      pendingCodeExpiresAt: null,
    });
  });

  it('removes a link from the UI or from Slack; an unlinked user then approves nothing', async () => {
    await t.http().delete('/api/slack/link').set(bearer(a.checker1.token)).expect(204);
    expect(
      (await t.http().get('/api/slack/link').set(bearer(a.checker1.token)).expect(200)).body.link,
    ).toBeNull();
    const cr = await newCr(a.maker.token, 'After unlink');
    const before = await state(cr.id);
    const res = await press('U0CAROL', 'approve', cr).expect(200);
    expect(res.body.text).toMatch(/not linked/);
    expect(await state(cr.id)).toEqual(before);

    const fromSlack = await command('U0VIC', 'unlink').expect(200);
    expect(fromSlack.body.text).toMatch(/^Unlinked: your Slack user no longer acts as/);
    expect(
      (await t.http().get('/api/slack/link').set(bearer(a.viewer.token)).expect(200)).body.link,
    ).toBeNull();
    const help = await command('U0VIC', '').expect(200);
    expect(help.body.text).toContain('/wavegate link <code>');
  });
});

describe('Slack approvals when Slack is not configured', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers 404 to Slack, refuses link codes with a clear reason, and reports configured: false', async () => {
    const res = await t
      .http()
      .post('/api/slack/interactions')
      .type('form')
      .send({ payload: '{}' })
      .expect(404);
    expect(res.body.code).toBe('SLACK.NOT_CONFIGURED');
    const code = await t.http().post('/api/slack/link-code').set(bearer(t.adminToken)).expect(409);
    expect(code.body.message).toMatch(/WAVEGATE_SLACK_SIGNING_SECRET/);
    const status = await t.http().get('/api/slack/link').set(bearer(t.adminToken)).expect(200);
    expect(status.body).toEqual({ configured: false, link: null, pendingCodeExpiresAt: null });
  });
});
