import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Page } from 'playwright-core';
import { slackSignature } from '../../src/slack/domain/slack-signature';
import { bearer, startTestApp, TestApp } from '../support/test-app';
import { Browser, ensureWebBuilt, launch, listen, ROOT, signIn } from './support/browser';

// Issue 15, approve from Slack (ADR 0017): a checker links their Slack user from the profile page. The page shows a
// one-time code and the command to send; when Slack's signed slash command arrives with it, the page shows the link
// (Slack user and workspace) without a reload; "Remove link" removes it. Screenshots at 1280 and 390 px go to
// docs/screenshots/.
jest.setTimeout(180_000);

const PASSWORD = 'browser-password-123';
const SIGNING_SECRET = 'fedcba9876543210fedcba9876543210';
const checker = { email: 'casey@slack.test', name: 'Casey Checker', roles: ['checker'] };
const DOCS = join(ROOT, 'docs', 'screenshots');

describe('the Slack link on the profile page', () => {
  let t: TestApp;
  let base: string;
  let b: Browser;

  const shots = async (page: Page, name: string) => {
    mkdirSync(DOCS, { recursive: true });
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      const file = await b.shot(`${name}-${width}`);
      copyFileSync(file, join(DOCS, `${name}-${width}.png`));
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  };

  /** What Slack sends for `/wavegate <text>` from user U0CASEY of workspace T0WAVE, signed now. */
  const slashCommand = (text: string) => {
    const body = new URLSearchParams({
      command: '/wavegate',
      text,
      team_id: 'T0WAVE',
      team_domain: 'wavecorp',
      user_id: 'U0CASEY',
      user_name: 'casey',
    }).toString();
    const ts = String(Math.floor(Date.now() / 1000));
    return t
      .http()
      .post('/api/slack/commands')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .set('X-Slack-Request-Timestamp', ts)
      .set('X-Slack-Signature', slackSignature(SIGNING_SECRET, ts, body))
      .send(body);
  };

  beforeAll(async () => {
    ensureWebBuilt();
    t = await startTestApp({ env: { WAVEGATE_SLACK_SIGNING_SECRET: SIGNING_SECRET } });
    base = await listen(t);
    await t
      .http()
      .post('/api/users')
      .set(bearer(t.adminToken))
      .send({ ...checker, password: PASSWORD })
      .expect(201);
    b = await launch();
  });

  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  it('links from a one-time code, shows the link, and removes it', async () => {
    const { page } = b;
    await signIn(page, base, checker.email, PASSWORD);
    await page.getByTestId('user-name').click();
    await page.getByRole('heading', { name: 'Your profile' }).waitFor();
    await expect(page.getByTestId('profile-name').textContent()).resolves.toBe('Casey Checker');
    const unlinked = page.getByTestId('slack-unlinked');
    await unlinked.waitFor();

    await page.getByRole('button', { name: 'Create link code' }).click();
    const shown = page.getByTestId('slack-code');
    await shown.waitFor();
    const command = (await shown.locator('code').textContent()) ?? '';
    expect(command).toMatch(/^\/wavegate link [0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    await expect(shown.textContent()).resolves.toMatch(/Valid for (10:00|9:5\d)/);
    await shots(page, 'profile-slack-code');

    // Slack's side: the signed slash command with the code from the page.
    const answer = await slashCommand(command.replace('/wavegate ', '')).expect(200);
    expect(answer.body.text).toContain('now acts as *Casey Checker*');

    // The page notices the link by itself (it looks every 3 s while a code is shown).
    const linked = page.getByTestId('slack-linked');
    await linked.waitFor({ timeout: 10_000 });
    const text = (await linked.textContent()) ?? '';
    expect(text).toContain('Linked to Slack user @casey');
    expect(text).toContain('U0CASEY');
    expect(text).toContain('workspace wavecorp');
    expect(text).toContain('T0WAVE');
    await shots(page, 'profile-slack-linked');

    // After a reload the link is still shown (it is the server's, not the page's).
    await page.reload();
    await page.getByTestId('slack-linked').waitFor();

    await page.getByRole('button', { name: 'Remove link' }).click();
    await unlinked.waitFor();
    const status = await t
      .http()
      .post('/api/auth/login')
      .send({ email: checker.email, password: PASSWORD })
      .expect(200);
    const link = await t
      .http()
      .get('/api/slack/link')
      .set(bearer(status.body.accessToken as string))
      .expect(200);
    expect(link.body.link).toBeNull();
    const whoami = await slashCommand('whoami').expect(200);
    expect(whoami.body.text).toMatch(/not linked/);
    expect(b.errors).toEqual([]);
  });
});
