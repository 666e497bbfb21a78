import { bearer, startTestApp, TestApp } from '../support/test-app';
import { Browser, ensureWebBuilt, launch, listen, signIn } from './support/browser';

// Pause and resume from the UI: a paused rollout starts no new target, says why it is paused, and finishes once
// resumed.
jest.setTimeout(120_000);

describe('pause and resume in the UI', () => {
  let t: TestApp;
  let base: string;
  let b: Browser;
  const checker = { email: 'pause-checker@browser.test', password: 'browser-password-123' };
  const maker = { email: 'pause-maker@browser.test', password: 'browser-password-123' };
  let makerToken: string;
  let checkerToken: string;

  const approved = async (title: string, ids: string[], bakeSeconds: number): Promise<string> => {
    const cr = await t
      .http()
      .post('/api/change-requests')
      .set(bearer(makerToken))
      .send({
        title,
        operation: 'installation.deactivate',
        targets: ids.map((id) => ({ type: 'installation', id: `${id}/insight` })),
        waves: { sizes: [1, 2], bakeSeconds },
        justification: 'Insight is retired.',
      })
      .expect(201);
    const { id, planHash } = cr.body as { id: string; planHash: string };
    await t.http().post(`/api/change-requests/${id}/submit`).set(bearer(makerToken)).expect(200);
    await t
      .http()
      .post(`/api/change-requests/${id}/approve`)
      .set(bearer(checkerToken))
      .send({ planHash })
      .expect(200);
    return id;
  };

  beforeAll(async () => {
    ensureWebBuilt();
    t = await startTestApp();
    base = await listen(t);
    const admin = bearer(t.adminToken);
    for (const [u, role] of [
      [maker, 'maker'],
      [checker, 'checker'],
    ] as const) {
      await t
        .http()
        .post('/api/users')
        .set(admin)
        .send({ ...u, name: `Pat ${role}`, roles: [role] })
        .expect(201);
    }
    const login = async (u: { email: string; password: string }) =>
      ((await t.http().post('/api/auth/login').send(u).expect(200)).body as { accessToken: string })
        .accessToken;
    makerToken = await login(maker);
    checkerToken = await login(checker);
    await t.http().post('/api/apps').set(admin).send({ key: 'insight', name: 'Insight' }).expect(201);
    const tenants = Array.from({ length: 60 }, (_, i) => ({
      id: `p${String(i + 1).padStart(3, '0')}`,
      name: `Pause ${i + 1}`,
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

  it('pauses during the bake, shows the reason, and completes after resume', async () => {
    const id = await approved('Retire Insight: pause drill', ['p001', 'p002', 'p003'], 3);
    const { page } = b;
    await signIn(page, base, checker.email, checker.password);
    await page.goto(`${base}/ui/change-requests/${id}`);
    await page.getByRole('button', { name: 'Start rollout' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Start rollout' }).click();
    await page
      .getByRole('progressbar', { name: /^Wave 1/ })
      .and(page.locator('[aria-valuenow="100"]'))
      .waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('dialog').getByLabel('Reason (optional)').fill('waiting for the support team');
    await page.getByRole('dialog').getByRole('button', { name: 'Pause' }).click();
    await page.locator('.badge[data-status="paused"]').waitFor();
    await page.getByText('Paused: waiting for the support team').waitFor();
    // Well past the bake, a paused rollout has started nothing new.
    await page.waitForTimeout(4_000);
    await expect(page.getByTestId('counts').textContent()).resolves.toContain('succeeded 1');
    await b.shot('17-paused');

    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Resume' }).click();
    await page.locator('.badge[data-status="completed"]').waitFor({ timeout: 30_000 });
    await expect(
      page.getByRole('progressbar', { name: 'Overall' }).getAttribute('aria-valuenow'),
    ).resolves.toBe('100');
    expect(b.errors).toEqual([]);
  });
});
