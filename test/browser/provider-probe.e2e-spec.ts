/// <reference lib="dom" />
import { FakeClock } from '../../src/common/clock';
import { providerDefinition } from '../../examples/reference-platform/platform';
import { PLATFORM_SECRET, RunningPlatform, startReferencePlatform } from '../support/reference-platform';
import {
  allowDestinations,
  inProcess,
  JsonCall,
  registerProvider,
  waitForStatus,
} from '../support/providers';
import { startTestApp, TestApp } from '../support/test-app';
import { Browser, ensureWebBuilt, launch, listen, signIn } from './support/browser';

// A provider's verify probe fails on the CR page (issue 14): the plan's targets say their state was read from the
// platform, and once the probe halts the rollout the page says which probe failed, for which tenant, and why.
jest.setTimeout(120_000);

describe('a failed probe on the change request page', () => {
  let t: TestApp;
  let p: RunningPlatform;
  let base: string;
  let b: Browser;
  let call: JsonCall;
  const clock = new FakeClock(new Date());
  let checkerEmail: string;
  let crId: string;

  beforeAll(async () => {
    ensureWebBuilt();
    p = await startReferencePlatform(PLATFORM_SECRET, () => clock.now());
    await p.platform.seed({ tenants: 10 });
    t = await startTestApp({ clock, env: { WAVEGATE_PROVIDER_BACKOFF_MS: '5' } });
    base = await listen(t);
    call = inProcess(t);
    const admin = await t.userToken(['admin']);
    const maker = await t.userToken(['maker']);
    const checkers = [await t.userToken(['checker']), await t.userToken(['checker'])];
    checkerEmail = checkers[0].email;
    await allowDestinations(call, admin.token, [`${p.url}/wavegate/`]);
    await registerProvider(
      call,
      { admin: admin.token, checkers: [checkers[0].token, checkers[1].token] },
      providerDefinition(p.url, PLATFORM_SECRET),
    );
    expect((await call('POST', '/api/inventory/sync', admin.token, {})).status).toBe(200);
    const created = await call('POST', '/api/change-requests', maker.token, {
      title: 'Retire insight on five sites',
      operation: 'refplat.deactivate_app',
      targets: [1, 2, 3, 4, 5].map((i) => ({ type: 'installation', id: `site-000${i}/insight` })),
      waves: { bakeSeconds: 0 },
      justification: 'Insight is end-of-life',
    });
    expect(created.status).toBe(201);
    crId = created.body.id as string;
    await call('POST', `/api/change-requests/${crId}/submit`, maker.token);
    for (const c of checkers.slice(0, created.body.requiredApprovals as number))
      await call('POST', `/api/change-requests/${crId}/approve`, c.token, {
        planHash: created.body.planHash,
      });
    p.platform.faults = { breakAfterNthDeactivation: 1 };
    expect((await call('POST', `/api/change-requests/${crId}/execute`, maker.token)).status).toBe(200);
    expect((await waitForStatus(call, maker.token, crId, ['halted', 'completed'])).status).toBe('halted');
    b = await launch();
  }, 120_000);

  afterAll(async () => {
    await b?.close();
    await t?.close();
    await p?.stop();
  });

  it('shows the targets as read from the platform, and which probe failed and why', async () => {
    const { page } = b;
    await signIn(page, base, checkerEmail, 'user-password-123');
    await page.goto(`${base}/ui/change-requests/${crId}`);
    await page.locator('.badge[data-status="halted"]').waitFor();
    const reason =
      /probe refplat\.deactivate_app verify \(after target\) failed for tenant site-0001: .*site-0001\/insight: the site stopped serving pages after deactivate_app \(injected fault\)/;
    await page.getByTestId('halt-reason').filter({ hasText: reason }).waitFor();
    const signal = page.getByTestId('signals').locator('li').filter({ hasText: reason });
    await signal.waitFor();
    await expect(signal.textContent()).resolves.toMatch(/error from probe \(tenant site-0001\)/);
    const state = page.getByTestId('target-state').first();
    await expect(state.textContent()).resolves.toBe('active → deactivated (read from refplat)');
    await expect(state.getAttribute('title')).resolves.toContain('platformState: active');
    await b.shot('provider-probe-halted');
    expect(b.errors).toEqual([]);
  });
});
