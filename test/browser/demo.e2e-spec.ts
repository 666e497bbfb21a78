/// <reference lib="dom" />
import { Call, DemoSeed, demoTenants, seedDemo } from '../../src/demo/demo.seed';
import { startTestApp, TestApp } from '../support/test-app';
import { Browser, ensureWebBuilt, launch, listen, signIn } from './support/browser';

// `npm run demo`'s seed on a fresh database, then the pages a first-time visitor opens: the inbox with the change
// request waiting for approval, the completed one, tenants, flags and the audit log with its verified chain,
// at 1280 and 390 px.
// A real browser on a shared CI machine: give each step room (the assertions keep their own bounds).
jest.setTimeout(120_000);

describe('demo seed in the UI', () => {
  let t: TestApp;
  let base: string;
  let b: Browser;
  let seed: DemoSeed;

  beforeAll(async () => {
    ensureWebBuilt();
    t = await startTestApp();
    base = await listen(t);
    const call: Call = async <T>(
      method: string,
      path: string,
      body?: unknown,
      token?: string,
    ): Promise<T> => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    };
    seed = await seedDemo(call, t.adminToken);
    b = await launch();
  }, 120_000);

  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  it('seeds 200 tenants, users of every role, flags, one pending and one completed change request', async () => {
    expect(seed.tenants).toBe(200);
    expect(seed.users.map((u) => u.role).sort()).toEqual(['checker', 'checker', 'maker', 'viewer']);
    expect(seed.flags).toBeGreaterThanOrEqual(5);
    expect(seed.pendingCr).toBeDefined();
    expect(seed.completedCr).toBeDefined();
  });

  it('shows the seeded data on every page without console errors', async () => {
    const { page } = b;
    const checker = seed.users.find((u) => u.role === 'checker')!;
    await signIn(page, base, checker.email, checker.password);
    await page.getByTestId('count-awaiting').filter({ hasText: '1' }).waitFor();
    await b.shot('13-demo-inbox');

    await page.getByRole('link', { name: /Retire legacy Insight for standard customers/ }).click();
    await page
      .getByTestId('op-words')
      .filter({ hasText: /^Deactivate app insight on \d+ installations$/ })
      .waitFor();
    await expect(page.getByRole('button', { name: 'Approve revision 1' }).isEnabled()).resolves.toBe(true);

    await page.goto(`${base}/ui/change-requests/${seed.completedCr}`);
    await page.locator('.badge[data-status="completed"]').waitFor();
    await expect(
      page.getByRole('progressbar', { name: 'Overall' }).getAttribute('aria-valuenow'),
    ).resolves.toBe('100');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tenants' }).click();
    await page.getByLabel('Tier').selectOption('key');
    await page.waitForURL(/tier=key/);
    const keyTenants = demoTenants().filter((x) => x.tier === 'key').length;
    await page.getByRole('row').nth(keyTenants).waitFor();
    await expect(page.getByRole('row').count()).resolves.toBe(keyTenants + 1);
    await page.getByRole('row').nth(1).getByRole('link').click();
    await page.getByRole('heading', { name: 'Installations' }).waitFor();

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Flags' }).click();
    await page.getByRole('link', { name: 'new-checkout' }).waitFor();
    await expect(page.getByRole('columnheader').allTextContents()).resolves.toEqual(
      expect.arrayContaining(['development', 'staging', 'production']),
    );

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
    await expect(page.getByTestId('audit-verify').textContent()).resolves.toMatch(
      /^Chain verified: \d+ entries/,
    );
    await b.shot('14-demo-audit');

    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/ui/change-requests/${seed.pendingCr}`);
    await page.getByTestId('cr-summary').waitFor();
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(1);
    await b.shot('15-demo-cr-390');
    expect(b.errors).toEqual([]);
  });
});
