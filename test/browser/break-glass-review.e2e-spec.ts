import { waitFor } from '../support/rollouts';
import { bearer, startTestApp, TestApp } from '../support/test-app';
import { Browser, ensureWebBuilt, launch, listen, signIn, signOut } from './support/browser';

// Design rule 8 in the UI (ADR 0010): the admin who broke the glass sees why they cannot review it; a checker
// finds it in the inbox, records the review, and the page shows it.
jest.setTimeout(120_000);

describe('break-glass review in the UI', () => {
  let t: TestApp;
  let base: string;
  let b: Browser;
  const password = 'browser-password-123';
  const maker = { email: 'bgr-maker@browser.test', password };
  const breaker = { email: 'bgr-admin@browser.test', password };
  const checker = { email: 'bgr-checker@browser.test', password };
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    ensureWebBuilt();
    t = await startTestApp();
    base = await listen(t);
    const admin = bearer(t.adminToken);
    for (const [u, roles] of [
      [maker, ['maker']],
      [breaker, ['admin', 'checker']],
      [checker, ['checker']],
    ] as const) {
      await t
        .http()
        .post('/api/users')
        .set(admin)
        .send({ ...u, name: `Pat ${roles.join(' ')}`, roles })
        .expect(201);
      tokens[u.email] = (
        (await t.http().post('/api/auth/login').send(u).expect(200)).body as { accessToken: string }
      ).accessToken;
    }
    await t.http().post('/api/apps').set(admin).send({ key: 'insight', name: 'Insight' }).expect(201);
    const tenants = Array.from({ length: 20 }, (_, i) => ({
      id: `g${String(i + 1).padStart(3, '0')}`,
      name: `Glass ${i + 1}`,
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

  it('refuses the form to the admin who broke the glass, and a checker reviews it from the inbox', async () => {
    const cr = await t
      .http()
      .post('/api/change-requests')
      .set(bearer(tokens[maker.email]))
      .send({
        title: 'Emergency: kill Insight on g001',
        operation: 'installation.deactivate',
        targets: [{ type: 'installation', id: 'g001/insight' }],
        waves: { bakeSeconds: 0 },
        justification: 'Insight corrupts data on g001.',
      })
      .expect(201);
    const id = (cr.body as { id: string }).id;
    await t.http().post(`/api/change-requests/${id}/submit`).set(bearer(tokens[maker.email])).expect(200);
    await t
      .http()
      .post(`/api/change-requests/${id}/break-glass`)
      .set(bearer(tokens[breaker.email]))
      .send({ incidentRef: 'INC-2024' })
      .expect(200);
    await waitFor(t, tokens[checker.email], id, (p) => p.status === 'completed');

    const { page } = b;
    await signIn(page, base, breaker.email, breaker.password);
    await page.goto(`${base}/ui/change-requests/${id}`);
    const why = page.getByTestId('break-glass-review-why');
    await why.waitFor();
    await expect(why.textContent()).resolves.toContain('another checker');
    await expect(page.getByRole('button', { name: 'Record review' }).count()).resolves.toBe(0);
    await signOut(page);

    await signIn(page, base, checker.email, checker.password);
    const inbox = page.getByTestId('break-glass-inbox');
    await inbox.getByText('Emergency: kill Insight on g001').click();
    const panel = page.getByTestId('break-glass-review');
    await panel.getByText('incident INC-2024').first().waitFor();
    await panel.getByRole('radio', { name: /Concerns/ }).check();
    await panel.getByLabel(/^Note/).fill('No outage ticket; should have waited for an approval.');
    await b.shot('18-break-glass-review-form');
    await panel.getByRole('button', { name: 'Record review' }).click();
    const done = page.getByTestId('break-glass-review-done');
    await done.waitFor();
    await expect(done.textContent()).resolves.toContain('Concerns raised');
    await expect(done.textContent()).resolves.toContain(
      'No outage ticket; should have waited for an approval.',
    );
    await b.shot('19-break-glass-reviewed');

    // reviewed: no longer in the inbox section
    await page.getByRole('link', { name: 'Inbox' }).first().click();
    await page.getByRole('heading', { name: 'Change requests' }).waitFor();
    await page.waitForTimeout(500);
    await expect(page.getByTestId('break-glass-inbox').count()).resolves.toBe(0);
    expect(b.errors).toEqual([]);
  });
});
