import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Page } from 'playwright-core';
import { bearer, startTestApp, TestApp } from '../support/test-app';
import { Browser, ensureWebBuilt, launch, listen, ROOT, signIn, signOut } from './support/browser';

// Issue 15, what a release manager sees: people by name on the CR page, the inbox and the history; a comment that
// mentions a checker reaches that checker; a scheduled CR counts down; progress bars are drawn at their figure the
// moment the rollout completes. Screenshots of each new view at 1280 and 390 px go to docs/screenshots/.
jest.setTimeout(180_000);

const PASSWORD = 'browser-password-123';
const maker = { email: 'morgan@release.test', name: 'Morgan Maker', roles: ['maker'] };
const checker = { email: 'casey@release.test', name: 'Casey Checker', roles: ['checker'] };
const checker2 = { email: 'robin@release.test', name: 'Robin Reviewer', roles: ['checker'] };
const DOCS = join(ROOT, 'docs', 'screenshots');

describe('what a release manager sees', () => {
  let t: TestApp;
  let base: string;
  let b: Browser;
  const tokens: Record<string, string> = {};

  const crFor = async (title: string, tenants: string[], extra: Record<string, unknown> = {}) => {
    const res = await t
      .http()
      .post('/api/change-requests')
      .set(bearer(tokens[maker.email]))
      .send({
        title,
        operation: 'installation.deactivate',
        targets: tenants.map((id) => ({ type: 'installation', id: `${id}/insight` })),
        waves: { sizes: [1, 2], bakeSeconds: 1 },
        justification: 'Insight is retired.',
        ...extra,
      })
      .expect(201);
    await t
      .http()
      .post(`/api/change-requests/${res.body.id}/submit`)
      .set(bearer(tokens[maker.email]))
      .expect(200);
    return res.body as { id: string; planHash: string };
  };

  /** Both widths of the new views, into docs/screenshots/ (the file viewer shows them). */
  const shots = async (page: Page, name: string) => {
    mkdirSync(DOCS, { recursive: true });
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      const file = await b.shot(`${name}-${width}`);
      copyFileSync(file, join(DOCS, `${name}-${width}.png`));
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  };

  beforeAll(async () => {
    ensureWebBuilt();
    t = await startTestApp();
    base = await listen(t);
    const admin = bearer(t.adminToken);
    for (const u of [maker, checker, checker2]) {
      await t
        .http()
        .post('/api/users')
        .set(admin)
        .send({ ...u, password: PASSWORD })
        .expect(201);
      const login = await t
        .http()
        .post('/api/auth/login')
        .send({ email: u.email, password: PASSWORD })
        .expect(200);
      tokens[u.email] = login.body.accessToken as string;
    }
    await t.http().post('/api/apps').set(admin).send({ key: 'insight', name: 'Insight' }).expect(201);
    const tenants = Array.from({ length: 8 }, (_, i) => ({
      id: `r${i + 1}`,
      name: `Release ${i + 1}`,
      tier: 'standard',
      installations: [{ appKey: 'insight' }],
    }));
    await t.http().post('/api/tenants').set(admin).send({ tenants }).expect(201);
    b = await launch();
  });

  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  it('names people, carries a mention to the checker, and counts down to a scheduled start', async () => {
    const { page } = b;
    const cr = await crFor('Retire Insight for r1-r3', ['r1', 'r2', 'r3']);
    const inTwoHours = new Date(Date.now() + 2 * 3600_000 + 5 * 60_000).toISOString();
    const scheduled = await crFor('Retire Insight for r4 tonight', ['r4'], { scheduledAt: inTwoHours });

    // The maker asks the checker a question on the CR page.
    await signIn(page, base, maker.email, PASSWORD);
    await page.goto(`${base}/ui/change-requests/${cr.id}`);
    await expect(page.getByTestId('author').textContent()).resolves.toBe('Morgan Maker (you)');
    await page
      .getByLabel(/^Comment \(mention/)
      .fill('@Casey Checker is wave 2 safe before the release train?');
    await page.getByRole('button', { name: 'Comment', exact: true }).click();
    await page.getByTestId('comment').filter({ hasText: 'release train' }).waitFor();
    // The comment's stream event makes the page re-read the CR up to 500 ms later; signing out first answers 401.
    for (const path of [
      `/api/change-requests/${cr.id}`,
      `/api/change-requests/${cr.id}/comments`,
      '/api/audit',
    ])
      b.expectHttpError(401, path);
    await signOut(page);

    // The checker finds it in the inbox, by name, and on the CR page in time order with the history.
    await signIn(page, base, checker.email, PASSWORD);
    const mention = page.getByTestId('mentions').getByRole('link', { name: /Retire Insight for r1-r3/ });
    await mention.waitFor();
    await expect(mention.textContent()).resolves.toContain('Morgan Maker');
    const upcoming = page.getByTestId('upcoming');
    await expect(upcoming.textContent()).resolves.toContain('Retire Insight for r4 tonight');
    await expect(upcoming.getByTestId('upcoming-countdown').textContent()).resolves.toMatch(
      /^in 2 h 0[45] min$/,
    );
    await expect(page.locator('.cr-list').last().textContent()).resolves.toContain('by Morgan Maker');
    await shots(page, 'inbox-mentions-upcoming');

    await mention.click();
    await page.getByTestId('comment').first().waitFor();
    await expect(page.getByTestId('author').textContent()).resolves.toBe('Morgan Maker');
    const history = (await page.getByTestId('history').locator('li').allTextContents()).join('\n');
    expect(history).toMatch(
      /created by Morgan Maker[\s\S]*submitted by Morgan Maker[\s\S]*Morgan Maker wrote:.*release train/,
    );
    expect(history).not.toMatch(/user [0-9a-f]{8}/);
    await expect(page.getByTestId('comment').textContent()).resolves.toContain(
      'mentions Casey Checker (you)',
    );
    await page.getByRole('button', { name: 'Approve revision 1' }).click();
    await page
      .getByTestId('history')
      .getByText(/approval_added by Casey Checker \(you\)/)
      .waitFor();
    await shots(page, 'cr-discussion');

    // The scheduled CR shows its start and a countdown that ticks.
    await page.goto(`${base}/ui/change-requests/${scheduled.id}`);
    const countdown = page.getByTestId('countdown');
    await countdown.waitFor();
    const first = await countdown.textContent();
    expect(first).toMatch(/^in 2 h 0[45] min$/);
    await expect(page.getByTestId('schedule').textContent()).resolves.toContain('(once approved)');
    await shots(page, 'cr-scheduled-countdown');
    expect(b.errors).toEqual([]);
    // As above: an event the page heard just before signing out makes it re-read this CR up to 500 ms later, and
    // that read answers 401 (seen once in CI, counted as an error of the next test).
    for (const path of [
      `/api/change-requests/${scheduled.id}`,
      `/api/change-requests/${scheduled.id}/progress`,
    ])
      b.expectHttpError(401, path);
    await signOut(page);
  });

  it('draws every bar at its figure the moment the rollout completes', async () => {
    const { page } = b;
    const cr = await crFor('Retire Insight for r5-r7', ['r5', 'r6', 'r7']);
    // Three of eight tenants is over the blast-radius limit: two approvers.
    for (const c of [checker, checker2]) {
      await t
        .http()
        .post(`/api/change-requests/${cr.id}/approve`)
        .set(bearer(tokens[c.email]))
        .send({ planHash: cr.planHash })
        .expect(200);
    }
    await page.context().clearCookies();
    await signIn(page, base, maker.email, PASSWORD);
    await page.goto(`${base}/ui/change-requests/${cr.id}`);
    await page.getByRole('button', { name: 'Start rollout' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Start rollout' }).click();
    await page.locator('.badge[data-status="completed"]').waitFor({ timeout: 60_000 });
    // Read the drawn widths at once: no waiting for an animation to settle.
    const bars = await page.getByRole('progressbar').evaluateAll((els) =>
      els.map((el) => {
        const track = el.getBoundingClientRect().width;
        const drawn = Array.from(el.children).reduce((w, c) => w + c.getBoundingClientRect().width, 0);
        const m = /\((\d+) of (\d+)/.exec(el.getAttribute('aria-valuetext') ?? '');
        return {
          label: el.getAttribute('aria-label'),
          track,
          drawn,
          done: Number(m?.[1]),
          total: Number(m?.[2]),
        };
      }),
    );
    expect(bars.map((x) => x.label)).toEqual(['Overall', 'Wave 1 · completed', 'Wave 2 · completed']);
    for (const bar of bars) {
      expect(bar.done).toBe(bar.total);
      expect(Math.abs(bar.drawn - bar.track)).toBeLessThanOrEqual(1);
    }
    await expect(
      page.getByRole('progressbar', { name: 'Overall' }).getAttribute('aria-valuenow'),
    ).resolves.toBe('100');
    // The cause of bars drawn short of their label: a width transition that anyone (or any screenshot) looking
    // within its run sees mid-way. A new figure must be drawn in the same frame it is rendered.
    const redrawn = await page
      .locator('.progress-done')
      .first()
      .evaluate((el: HTMLElement) => {
        const track = el.parentElement!.getBoundingClientRect().width;
        el.style.width = '25%';
        const now = el.getBoundingClientRect().width / track;
        el.style.width = '100%';
        return now;
      });
    expect(redrawn).toBeCloseTo(0.25, 2);
    await shots(page, 'cr-completed-bars');
    await page
      .getByTestId('history')
      .getByText(/started by Morgan Maker \(you\)/)
      .waitFor();
    await expect(page.getByTestId('executor').textContent()).resolves.toBe('Morgan Maker (you)');
    expect(b.errors).toEqual([]);
  });
});
