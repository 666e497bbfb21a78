import { bearer, startTestApp, TestApp } from '../support/test-app';
import { Browser, ensureWebBuilt, launch, listen, signIn } from './support/browser';

// Flags in the UI: a change in an unprotected environment saves at once; in production (which needs change
// requests) saving opens a flag.update change request and the page goes to it, with the before/after diff.
jest.setTimeout(120_000);

describe('flags in the UI', () => {
  let t: TestApp;
  let base: string;
  let b: Browser;
  const maker = { email: 'flag-maker@browser.test', password: 'browser-password-123' };

  beforeAll(async () => {
    ensureWebBuilt();
    t = await startTestApp();
    base = await listen(t);
    const admin = bearer(t.adminToken);
    await t
      .http()
      .post('/api/users')
      .set(admin)
      .send({ ...maker, name: 'Flo Maker', roles: ['maker'] })
      .expect(201);
    await t
      .http()
      .post('/api/flags')
      .set(admin)
      .send({ key: 'new-checkout', description: 'The redesigned checkout', type: 'release' })
      .expect(201);
    b = await launch();
  });

  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  it('saves a development change directly and turns a production change into a change request', async () => {
    const { page } = b;
    await signIn(page, base, maker.email, maker.password);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Flags' }).click();
    await page.getByRole('link', { name: 'new-checkout' }).click();

    const dev = page.getByRole('region', { name: /^development/ });
    await dev.getByLabel('Enabled in development').check();
    await dev.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: /^development on/ }).waitFor();

    const prod = page.getByRole('region', { name: /^production/ });
    await prod.getByLabel('Enabled in production').check();
    await prod.getByLabel(/Justification/).fill('Launch the new checkout.');
    await prod.getByRole('button', { name: 'Open a change request' }).click();
    await page.waitForURL(/\/ui\/change-requests\/[0-9a-f-]{36}$/);
    await expect(page.getByTestId('op-words').textContent()).resolves.toMatch(
      /^Change flag new-checkout in production/,
    );
    await page.getByRole('heading', { name: 'Flag configuration' }).waitFor();
    await expect(page.locator('.badge[data-status]').textContent()).resolves.toBe('Awaiting approval');
    await expect(page.getByTestId('approve-why').textContent()).resolves.toContain(
      'You wrote this change request',
    );
    await b.shot('16-flag-change-request');

    const flag = await t.http().get('/api/flags/new-checkout').set(bearer(t.adminToken)).expect(200);
    const envs = (flag.body as { environments: Record<string, { enabled: boolean }> }).environments;
    expect(envs.development.enabled).toBe(true);
    expect(envs.production.enabled).toBe(false);
    expect(b.errors).toEqual([]);
  });
});
