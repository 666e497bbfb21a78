/// <reference lib="dom" />
import { bearer, startTestApp, TestApp } from '../support/test-app';
import { Browser, ensureWebBuilt, launch, listen, signIn, signOut } from './support/browser';

// The approval UI in real Chromium against the real service: a maker writes a change request in the UI, cannot
// approve it (and is told why), a checker reviews and approves it; a 10,000-target plan renders fast.
const PASSWORD = 'browser-password-123';

// A real browser on a shared CI machine: give each step room (the assertions keep their own bounds).
jest.setTimeout(120_000);

describe('approval UI in Chromium', () => {
  let t: TestApp;
  let base: string;
  let b: Browser;
  const users = { maker: 'maker@browser.test', checker: 'checker@browser.test' };

  beforeAll(async () => {
    ensureWebBuilt();
    t = await startTestApp();
    base = await listen(t);
    const admin = bearer(t.adminToken);
    for (const [role, email] of Object.entries(users)) {
      await t
        .http()
        .post('/api/users')
        .set(admin)
        .send({ email, name: `Mia ${role}`, password: PASSWORD, roles: [role] })
        .expect(201);
    }
    await t
      .http()
      .post('/api/apps')
      .set(admin)
      .send({ key: 'insight', name: 'Insight', legacy: true })
      .expect(201);
    const tiers = ['internal', 'standard', 'standard', 'standard', 'key'] as const;
    // 60 tenants, so that five of them stay under the blast-radius limit (10 %) and one approval is the quorum.
    const tenants = Array.from({ length: 60 }, (_, i) => ({
      id: `t${String(i + 1).padStart(3, '0')}`,
      name: `Tenant ${i + 1}`,
      tier: tiers[i % tiers.length],
      region: i % 2 ? 'eu' : 'us',
      installations: [{ appKey: 'insight' }],
    }));
    await t.http().post('/api/tenants').set(admin).send({ tenants }).expect(201);
  }, 120_000);

  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  beforeEach(async () => {
    b = await launch();
  });
  afterEach(async () => {
    // No console errors and no uncaught exceptions in any step.
    expect(b.errors).toEqual([]);
    await b.close();
  });

  it('maker creates a change request, cannot approve it and sees why; a checker approves it', async () => {
    const { page } = b;
    await signIn(page, base, users.maker, PASSWORD);
    await expect(page.getByTestId('user-name').textContent()).resolves.toBe('Mia maker');
    await expect(page.getByTestId('user-roles').textContent()).resolves.toBe('maker');

    await page.getByRole('link', { name: 'New change request' }).click();
    await page.getByLabel('Title').fill('Retire Insight for the first wave of tenants');
    await page.getByLabel('Operation').selectOption('installation.deactivate');
    await page
      .getByLabel(/installation ids, one per line/)
      .fill(['t001', 't002', 't003', 't005', 't010'].map((id) => `${id}/insight`).join('\n'));
    await page.getByLabel('Bake time between waves (seconds)').fill('1');
    await page
      .getByLabel(/Justification/)
      .fill('Insight is retired; its replacement is live for these tenants.');
    await page.getByLabel('Ticket (optional)').fill('OPS-1234');
    await page.getByRole('button', { name: 'Create and submit for approval' }).click();

    await page.getByTestId('cr-summary').waitFor();
    const crId = /change-requests\/([0-9a-f-]{36})/.exec(page.url())?.[1];
    expect(crId).toBeDefined();
    await expect(page.getByTestId('op-words').textContent()).resolves.toBe(
      'Deactivate app insight on 5 installations',
    );
    await expect(page.getByTestId('reversible').isVisible()).resolves.toBe(true);
    await expect(page.getByTestId('key-customers').textContent()).resolves.toBe(
      '2 touched: Tenant 5, Tenant 10 (last waves)',
    );
    await expect(page.locator('.badge[data-status]').textContent()).resolves.toBe('Awaiting approval');
    const approve = page.getByRole('button', { name: 'Approve revision 1' });
    await expect(approve.isDisabled()).resolves.toBe(true);
    await expect(page.getByTestId('approve-why').textContent()).resolves.toContain(
      'You wrote this change request',
    );
    await b.shot('01-maker-cr-awaiting-approval');

    // The maker's own change request is under "Mine", not "Awaiting my approval".
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Inbox' }).click();
    await page.getByRole('button', { name: /^Mine/ }).click();
    await expect(page.getByTestId('count-mine').textContent()).resolves.toBe('1');
    await signOut(page);

    await signIn(page, base, users.checker, PASSWORD);
    await page.getByTestId('count-awaiting').filter({ hasText: '1' }).waitFor();
    await page.getByRole('link', { name: /Retire Insight/ }).waitFor();
    await b.shot('02-checker-inbox');
    await page.getByRole('link', { name: /Retire Insight/ }).click();
    await page.getByTestId('cr-summary').waitFor();
    await b.shot('03-checker-cr-before-approval');
    const approveAsChecker = page.getByRole('button', { name: 'Approve revision 1' });
    await expect(approveAsChecker.isEnabled()).resolves.toBe(true);
    await page.getByLabel('Comment (required to reject)').fill('Checked the five installations; go.');
    await approveAsChecker.click();
    await page.locator('.badge[data-status="approved"]').waitFor();
    await expect(page.getByTestId('quorum').textContent()).resolves.toMatch(
      /^1 of 1 required approval on revision 1/,
    );
    await page.getByText('Checked the five installations; go.').waitFor();
    await b.shot('04-checker-cr-approved');

    const res = await t.http().get(`/api/change-requests/${crId}`).set(bearer(t.adminToken)).expect(200);
    expect(res.body).toMatchObject({ status: 'approved', revision: 1 });
  });

  it('names the offending ids when the maker gives ids of the wrong kind', async () => {
    const { page } = b;
    await signIn(page, base, users.maker, PASSWORD);
    await page.goto(`${base}/ui/change-requests/new`);
    await page.getByLabel('Title').fill('Deactivate by tenant id by mistake');
    await page.getByLabel('Operation').selectOption('installation.deactivate');
    await page.getByLabel(/installation ids, one per line/).fill('tenant:t001\nt002/insight');
    await page.getByLabel(/Justification/).fill('This must be refused.');
    b.expectHttpError(422, '/api/change-requests');
    await page.getByRole('button', { name: 'Create and submit for approval' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    await expect(alert.textContent()).resolves.toContain('tenant:t001');
    expect(page.url()).toContain('/ui/change-requests/new');
  });

  it('shows a checker that the plan changed under them: approve disabled as stale, earlier approvals voided', async () => {
    const maker = await t.userToken(['maker']);
    const otherChecker = await t.userToken(['checker']);
    // Seven of 60 tenants is over the 10 % blast-radius limit: two approvals are needed, so one leaves it pending.
    const ids = ['t040', 't041', 't042', 't043', 't044', 't045', 't046'];
    const created = await t
      .http()
      .post('/api/change-requests')
      .set(bearer(maker.token))
      .send({
        title: 'Retire Insight: second batch',
        operation: 'installation.deactivate',
        targets: ids.map((id) => ({ type: 'installation', id: `${id}/insight` })),
        justification: 'Second batch of the Insight retirement.',
      })
      .expect(201);
    const { id, planHash } = created.body as { id: string; planHash: string };
    await t.http().post(`/api/change-requests/${id}/submit`).set(bearer(maker.token)).expect(200);
    await t
      .http()
      .post(`/api/change-requests/${id}/approve`)
      .set(bearer(otherChecker.token))
      .send({ planHash })
      .expect(200);

    const { page } = b;
    await signIn(page, base, users.checker, PASSWORD);
    await page.goto(`${base}/ui/change-requests/${id}`);
    await page
      .getByTestId('quorum')
      .filter({ hasText: /^1 of 2 required approvals on revision 1/ })
      .waitFor();
    await expect(page.getByRole('button', { name: 'Approve revision 1' }).isEnabled()).resolves.toBe(true);

    // While the checker reads, the maker drops a target: a new plan, revision 2, the approval voided.
    await t
      .http()
      .patch(`/api/change-requests/${id}`)
      .set(bearer(maker.token))
      .send({ targets: ids.slice(0, 6).map((x) => ({ type: 'installation', id: `${x}/insight` })) })
      .expect(200);
    const why = page.getByTestId('approve-why');
    await why.filter({ hasText: 'The plan changed while you were reading it (now revision 2)' }).waitFor();
    await expect(page.getByRole('button', { name: 'Approve revision 2' }).isDisabled()).resolves.toBe(true);
    await expect(page.getByTestId('voided').textContent()).resolves.toContain('1 earlier approval voided');
    await expect(page.getByTestId('op-words').textContent()).resolves.toBe(
      'Deactivate app insight on 6 installations',
    );
    await b.shot('05-stale-revision-voided');

    await page.getByRole('button', { name: 'I have reviewed revision 2' }).click();
    await page.getByRole('button', { name: 'Approve revision 2' }).click();
    await page
      .getByTestId('quorum')
      .filter({ hasText: /^1 of \d required approvals? on revision 2/ })
      .waitFor();
  });

  it('the maker edits a pending change request in the UI: a new revision with a new plan, the approval voided', async () => {
    const login = await t
      .http()
      .post('/api/auth/login')
      .send({ email: users.maker, password: PASSWORD })
      .expect(200);
    const makerToken = (login.body as { accessToken: string }).accessToken;
    const checker = await t.userToken(['checker']);
    const ids = ['t050', 't051', 't052', 't053', 't054', 't055', 't056'];
    const created = await t
      .http()
      .post('/api/change-requests')
      .set(bearer(makerToken))
      .send({
        title: 'Retire Insight: third batch',
        operation: 'installation.deactivate',
        targets: ids.map((id) => ({ type: 'installation', id: `${id}/insight` })),
        justification: 'Third batch.',
      })
      .expect(201);
    const { id, planHash } = created.body as { id: string; planHash: string };
    await t.http().post(`/api/change-requests/${id}/submit`).set(bearer(makerToken)).expect(200);
    await t
      .http()
      .post(`/api/change-requests/${id}/approve`)
      .set(bearer(checker.token))
      .send({ planHash })
      .expect(200);

    const { page } = b;
    await signIn(page, base, users.maker, PASSWORD);
    await page.goto(`${base}/ui/change-requests/${id}`);
    await page.getByRole('button', { name: 'Edit', exact: true }).click();
    const form = page.getByRole('form', { name: 'Edit change request' });
    await expect(form.getByText('every approval given so far is voided').isVisible()).resolves.toBe(true);
    await form.getByLabel(/^Targets/).fill(
      ids
        .slice(0, 6)
        .map((x) => `${x}/insight`)
        .join('\n'),
    );
    await form.getByLabel('Justification').fill('Third batch, without t056 (it migrates next week).');
    await form.getByRole('button', { name: 'Save revision 2' }).click();
    await page
      .getByTestId('revision')
      .filter({ hasText: /^2 · plan/ })
      .waitFor();
    await expect(page.getByTestId('op-words').textContent()).resolves.toBe(
      'Deactivate app insight on 6 installations',
    );
    // The count comes from the edit's audit entry, which the history hook reads just after the CR itself.
    await page.getByTestId('voided').filter({ hasText: '1 earlier approval voided' }).waitFor();
    await expect(page.getByTestId('approve-why').textContent()).resolves.toContain(
      'You wrote this change request',
    );
    await b.shot('06-maker-edited-revision-2');
  });

  it('executes to 100 % with live progress; a signal halts a second rollout and the page says why; rollback from the UI', async () => {
    const admin = bearer(t.adminToken);
    const maker = await t.userToken(['maker']);
    const checker = await t.userToken(['checker']);
    const automation = await t
      .http()
      .post('/api/tokens')
      .set(admin)
      .send({ name: 'monitoring', kind: 'automation' })
      .expect(201);
    const approved = async (title: string, tenantIds: string[], bakeSeconds: number): Promise<string> => {
      const cr = await t
        .http()
        .post('/api/change-requests')
        .set(bearer(maker.token))
        .send({
          title,
          operation: 'installation.deactivate',
          targets: tenantIds.map((id) => ({ type: 'installation', id: `${id}/insight` })),
          waves: { sizes: [1, 2], bakeSeconds },
          justification: 'Insight is retired.',
        })
        .expect(201);
      const { id, planHash } = cr.body as { id: string; planHash: string };
      await t.http().post(`/api/change-requests/${id}/submit`).set(bearer(maker.token)).expect(200);
      await t
        .http()
        .post(`/api/change-requests/${id}/approve`)
        .set(bearer(checker.token))
        .send({ planHash })
        .expect(200);
      return id;
    };
    const first = await approved('Retire Insight: wave test', ['t020', 't021', 't022'], 3);
    const second = await approved(
      'Retire Insight: halted by monitoring',
      ['t030', 't031', 't032', 't033', 't034'],
      3,
    );

    const { page } = b;
    await signIn(page, base, users.checker, PASSWORD);
    await page.goto(`${base}/ui/change-requests/${first}`);
    await page.getByRole('button', { name: 'Start rollout' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Start rollout' }).click();
    await page.locator('.badge[data-status="running"]').waitFor();
    await page.locator('.live-live').waitFor();
    await b.shot('07-during-execution');
    const overall = page.getByRole('progressbar', { name: 'Overall' });
    await page.locator('.badge[data-status="completed"]').waitFor({ timeout: 30_000 });
    await expect(overall.getAttribute('aria-valuenow')).resolves.toBe('100');
    for (const label of ['Wave 1 · completed', 'Wave 2 · completed']) {
      await expect(
        page.getByRole('progressbar', { name: label }).getAttribute('aria-valuenow'),
      ).resolves.toBe('100');
    }
    await expect(page.getByTestId('counts').textContent()).resolves.toContain('succeeded 3');
    await b.shot('08-completed');

    // The second rollout: wave 1 finishes, then monitoring reports errors during the bake.
    await page.goto(`${base}/ui/change-requests/${second}`);
    await page.getByRole('button', { name: 'Start rollout' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Start rollout' }).click();
    await page
      .getByRole('progressbar', { name: /^Wave 1/ })
      .and(page.locator('[aria-valuenow="100"]'))
      .waitFor({ timeout: 30_000 });
    await t
      .http()
      .post('/api/signals')
      .set(bearer((automation.body as { token: string }).token))
      .send({
        source: 'pagerduty',
        severity: 'critical',
        changeRequestId: second,
        message: 'insight errors up 40x',
      })
      .expect(201);
    // Arrives over the stream: no reload.
    const halt = page.getByTestId('halt-reason');
    await halt.waitFor();
    await expect(halt.textContent()).resolves.toContain('insight errors up 40x');
    await page.getByTestId('signals').filter({ hasText: 'critical from pagerduty' }).waitFor();
    await b.shot('09-halted');

    // Keyboard: a confirmation opens with Enter and Escape closes it without doing anything.
    await page.getByRole('button', { name: 'Abort' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').getByRole('heading', { name: 'Abort the rollout for good?' }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await expect(page.locator('.badge[data-status]').textContent()).resolves.toBe('Halted');

    await page.getByRole('button', { name: 'Roll back' }).click();
    await page.getByRole('dialog').getByLabel('Reason (optional)').fill('monitoring alert');
    await page.getByRole('dialog').getByRole('button', { name: 'Roll back' }).click();
    await page.locator('.badge[data-status="rolled_back"]').waitFor({ timeout: 30_000 });
    await b.shot('10-rolled-back');
    const tenant = await t.http().get('/api/tenants/t030').set(admin).expect(200);
    expect((tenant.body as { installations: { appKey: string; status: string }[] }).installations).toEqual([
      expect.objectContaining({ appKey: 'insight', status: 'active' }),
    ]);
  });

  it('renders the summary of a 10,000-target change request quickly, with a windowed target table, at 1280 and 390 px', async () => {
    const admin = bearer(t.adminToken);
    const tiers = [
      'internal',
      'standard',
      'standard',
      'standard',
      'standard',
      'standard',
      'standard',
      'standard',
      'standard',
      'key',
    ] as const;
    for (let chunk = 0; chunk < 4; chunk++) {
      const tenants = Array.from({ length: 2500 }, (_, i) => {
        const n = chunk * 2500 + i;
        return {
          id: `big${String(n).padStart(5, '0')}`,
          name: `Big ${n}`,
          tier: tiers[n % tiers.length],
          region: ['eu', 'us', 'ap'][n % 3],
          installations: [{ appKey: 'insight' }],
        };
      });
      await t.http().post('/api/tenants').set(admin).send({ tenants }).expect(201);
    }
    const maker = await t.userToken(['maker']);
    const created = await t
      .http()
      .post('/api/change-requests')
      .set(bearer(maker.token))
      .send({
        title: 'Deactivate Insight everywhere',
        operation: 'installation.deactivate',
        targets: Array.from({ length: 10_000 }, (_, n) => ({
          type: 'installation',
          id: `big${String(n).padStart(5, '0')}/insight`,
        })),
        waves: { bakeSeconds: 600 },
        justification: 'Insight is retired.',
      })
      .expect(201);
    const id = (created.body as { id: string }).id;
    await t.http().post(`/api/change-requests/${id}/submit`).set(bearer(maker.token)).expect(200);

    const { page } = b;
    await signIn(page, base, users.checker, PASSWORD);
    const started = Date.now();
    await page.goto(`${base}/ui/change-requests/${id}`);
    await page
      .getByTestId('op-words')
      .filter({ hasText: 'Deactivate app insight on 10,000 installations' })
      .waitFor();
    const ms = Date.now() - started;
    process.stdout.write(
      `\n  10,000-target change request: summary rendered ${ms} ms after navigation (loopback)\n\n`,
    );
    expect(ms).toBeLessThan(5_000);
    await expect(page.getByTestId('blast-radius').textContent()).resolves.toContain('10,000 tenants');
    await expect(page.getByTestId('key-customers').textContent()).resolves.toMatch(/^1,000 touched/);
    await expect(page.getByTestId('target-count').textContent()).resolves.toBe('10,000 of 10,000 targets');
    // Windowed: only the rows in view are in the DOM.
    const rendered = await page.locator('.vt-scroll [role=row]').count();
    expect(rendered).toBeGreaterThan(5);
    expect(rendered).toBeLessThan(80);
    await page.getByLabel('Search targets').fill('big09999');
    await page.getByTestId('target-count').filter({ hasText: '1 of 10,000 targets' }).waitFor();
    await expect(page.locator('.vt-scroll [role=row]').first().textContent()).resolves.toContain(
      'installation:big09999/insight',
    );
    await page.getByLabel('Search targets').fill('');
    await b.shot('11-10000-targets-1280');

    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByTestId('cr-summary').waitFor();
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(1);
    await b.shot('12-10000-targets-390');
  });
});
