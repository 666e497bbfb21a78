// The outage drill against a real platform (issue 14, acceptance): Wavegate runs as a real server process (killed
// with SIGKILL mid-wave in the second test) and drives the reference platform (examples/reference-platform) through
// its provider: 1,000 tenants synced from the platform; the wrong kind of id refused naming each; the plan shows each
// target's state as read from the platform; the platform breaks the second tenant it deactivates, its verify fails,
// the rollout halts with at most 3 tenants touched; rollback calls undo and every tenant reads back exactly as
// before; nothing is applied twice (Idempotency-Key), even across a kill -9.
import { join } from 'node:path';
import { providerDefinition } from '../examples/reference-platform/platform';
import {
  ChildServer,
  compileServer,
  freePort,
  freshDatabase,
  ServerDb,
  tempDir,
} from './support/child-server';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './support/test-app';
import { PLATFORM_SECRET, RunningPlatform, startReferencePlatform } from './support/reference-platform';
import { allowDestinations, JsonCall, registerProvider, waitForStatus } from './support/providers';

jest.setTimeout(300_000);

const TENANTS = 1000;

function httpCall(base: () => string): JsonCall {
  return async (method, path, token, body) => {
    const res = await fetch(`${base()}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: method === 'GET' ? undefined : JSON.stringify(body ?? {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, never>) : {} };
  };
}

describe('outage drill through a provider (real server process)', () => {
  const tmp = tempDir();
  let db: ServerDb;
  let server: ChildServer;
  let p: RunningPlatform;
  let call: JsonCall;
  const tokens = { admin: '', maker: '', checker1: '', checker2: '' };

  beforeAll(async () => {
    const [cli, platform, port] = await Promise.all([compileServer(), startReferencePlatform(), freePort()]);
    p = platform;
    await p.platform.seed({ tenants: TENANTS, pagesPerSite: 1, membersPerSite: 1 });
    db = await freshDatabase(tmp.dir);
    server = new ChildServer(cli, port, db.url, join(tmp.dir, 'server.log'), {
      WAVEGATE_PROVIDER_BACKOFF_MS: '20',
      WAVEGATE_ENGINE_POLL_MS: '50',
      WAVEGATE_ENGINE_LEASE_MS: '1500',
      WAVEGATE_BACKUP_INTERVAL_SECONDS: '0',
      WAVEGATE_INVENTORY_SYNC_INTERVAL_SECONDS: '0',
    });
    await server.start(60_000);
    call = httpCall(() => server.url);
    const login = async (email: string, password: string) => {
      const r = await call('POST', '/api/auth/login', '', { email, password });
      return r.body.accessToken as string;
    };
    tokens.admin = await login(ADMIN_EMAIL, ADMIN_PASSWORD);
    for (const [name, roles] of [
      ['maker', ['maker']],
      ['checker1', ['checker']],
      ['checker2', ['checker']],
    ] as const) {
      const email = `${name}@drill.test`;
      const r = await call('POST', '/api/users', tokens.admin, {
        email,
        name,
        password: 'drill-password-123',
        roles,
      });
      if (r.status !== 201) throw new Error(`user ${name}: ${r.status} ${JSON.stringify(r.body)}`);
      tokens[name] = await login(email, 'drill-password-123');
    }
    await allowDestinations(call, tokens.admin, [`${p.url}/wavegate/`]);
    await registerProvider(
      call,
      { admin: tokens.admin, checkers: [tokens.checker1, tokens.checker2] },
      providerDefinition(p.url, PLATFORM_SECRET),
    );
  });

  afterAll(async () => {
    await server?.kill();
    await p?.stop();
    await db?.drop();
    tmp.remove();
  });

  const applyEffects = (crId: string) =>
    p.platform.effects.filter((e) => e.kind === 'apply' && e.idempotencyKey.startsWith(crId));

  it('1,000 synced tenants; wrong ids refused; verify fails on the 2nd tenant: halt with <= 3 touched; rollback restores every tenant', async () => {
    const sync = await call('POST', '/api/inventory/sync', tokens.admin, { provider: 'refplat' });
    expect(sync.status).toBe(200);
    expect(sync.body.results[0].tenants.added).toHaveLength(TENANTS);

    // The outage's mistake: site ids where installation ids belong. Refused, each named, nothing created.
    const wrong = await call('POST', '/api/change-requests', tokens.maker, {
      title: 'Retire insight',
      operation: 'refplat.deactivate_app',
      targets: ['site-0007', 'site-0008', 'site-0009'].map((id) => ({ type: 'installation', id })),
      justification: 'Insight is end-of-life',
    });
    expect(wrong.status).toBe(422);
    expect(wrong.body.details).toEqual(
      ['site-0007', 'site-0008', 'site-0009'].map((id) => ({
        target: `installation:${id}`,
        reason: expect.stringContaining('tenant id'),
      })),
    );
    const asTenants = await call('POST', '/api/change-requests', tokens.maker, {
      title: 'Retire insight',
      operation: 'refplat.deactivate_app',
      targets: [{ type: 'tenant', id: 'site-0007' }],
      justification: 'Insight is end-of-life',
    });
    expect(asTenants.status).toBe(422);
    expect(asTenants.body.code).toBe('CHANGE_REQUEST.WRONG_TARGET_TYPE');

    const before = await p.platform.readAll();
    const ids = Object.keys(before);
    expect(ids).toHaveLength(TENANTS);
    const stateCallsBefore = p.platform.calls.filter((c) => c.endpoint === 'state').length;
    const created = await call('POST', '/api/change-requests', tokens.maker, {
      title: 'Retire insight everywhere',
      operation: 'refplat.deactivate_app',
      targets: ids.map((id) => ({ type: 'installation', id: `${id}/insight` })),
      waves: { bakeSeconds: 1 },
      justification: 'Insight is end-of-life',
    });
    expect(created.status).toBe(201);
    // The states were read in two batched calls, not 1,000.
    expect(p.platform.calls.filter((c) => c.endpoint === 'state').length - stateCallsBefore).toBe(2);
    const planned = (created.body.plan.waves as { targets: Record<string, string>[] }[]).flatMap(
      (w) => w.targets,
    );
    expect(planned).toHaveLength(TENANTS);
    expect(
      planned.every((x) => x.state === 'active' && x.action === 'deactivate' && x.to === 'deactivated'),
    ).toBe(true);
    // Each target's state is the platform's answer, shown in the plan as the target's detail.
    expect(planned[0]).toMatchObject({
      detail: {
        platform: 'refplat',
        platformFound: true,
        platformState: 'active',
        platformTo: 'deactivated',
      },
    });
    expect(
      planned.every(
        (x) => (x as unknown as { detail: { platformState: string } }).detail.platformState === 'active',
      ),
    ).toBe(true);
    const cr = created.body;
    await call('POST', `/api/change-requests/${cr.id}/submit`, tokens.maker);
    for (const c of [tokens.checker1, tokens.checker2].slice(0, cr.requiredApprovals as number))
      expect(
        (await call('POST', `/api/change-requests/${cr.id}/approve`, c, { planHash: cr.planHash })).status,
      ).toBe(200);

    p.platform.faults = { breakAfterNthDeactivation: 2 };
    expect((await call('POST', `/api/change-requests/${cr.id}/execute`, tokens.maker)).status).toBe(200);
    const halted = await waitForStatus(call, tokens.maker, cr.id as string, ['halted', 'completed'], 60_000);
    expect(halted.status).toBe('halted');
    const touched = applyEffects(cr.id as string);
    expect(touched.length).toBeGreaterThanOrEqual(2);
    expect(touched.length).toBeLessThanOrEqual(3);
    const broken = [...p.platform.broken.keys()];
    expect(broken).toEqual([touched[1].tenantId]);
    const signals = await call('GET', `/api/change-requests/${cr.id}/signals`, tokens.maker);
    expect(signals.body.items).toContainEqual(
      expect.objectContaining({
        source: 'probe',
        tenantId: broken[0],
        message: expect.stringContaining(
          'the site stopped serving pages after deactivate_app (injected fault)',
        ),
      }),
    );

    expect(
      (await call('POST', `/api/change-requests/${cr.id}/rollback`, tokens.maker, { reason: 'probe failed' }))
        .status,
    ).toBe(202);
    await waitForStatus(call, tokens.maker, cr.id as string, ['rolled_back'], 60_000);
    expect(await p.platform.readAll()).toEqual(before);
    expect(p.platform.broken.size).toBe(0);
    const undone = p.platform.effects.filter(
      (e) => e.kind === 'undo' && e.idempotencyKey.startsWith(cr.id as string),
    );
    expect(undone.map((e) => e.target).sort()).toEqual(touched.map((e) => e.target).sort());
    // Nothing was called twice with the same key.
    const keys = p.platform.calls.filter((c) => c.idempotencyKey).map((c) => c.idempotencyKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(await p.platform.repeatedKeys()).toEqual({});
  });

  it('a kill -9 of Wavegate mid-wave: the call in flight is made again with its key and applied once', async () => {
    p.platform.faults = {};
    const targets = Array.from({ length: 40 }, (_, i) => `site-${String(101 + i).padStart(4, '0')}/forms`);
    const created = await call('POST', '/api/change-requests', tokens.maker, {
      title: 'Retire forms on 40 sites',
      operation: 'refplat.deactivate_app',
      targets: targets.map((id) => ({ type: 'installation', id })),
      waves: { bakeSeconds: 0 },
      justification: 'Forms is end-of-life',
    });
    expect(created.status).toBe(201);
    const cr = created.body;
    await call('POST', `/api/change-requests/${cr.id}/submit`, tokens.maker);
    expect(
      (
        await call('POST', `/api/change-requests/${cr.id}/approve`, tokens.checker1, {
          planHash: cr.planHash,
        })
      ).body.status,
    ).toBe('approved');
    let killed: Promise<void> | undefined;
    p.platform.afterApply = async () => {
      // The platform committed its 6th change (or, with calls of one wave in flight together, its 6th and 7th
      // before either answer went out: hence >=); Wavegate dies before it hears the answer.
      if (!killed && applyEffects(cr.id as string).length >= 6) {
        killed = server.kill();
        await killed;
      }
    };
    expect((await call('POST', `/api/change-requests/${cr.id}/execute`, tokens.maker)).status).toBe(200);
    const deadline = Date.now() + 60_000;
    while (!killed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(killed).toBeDefined();
    await killed;
    p.platform.afterApply = undefined;
    await server.start(60_000);
    const done = await waitForStatus(call, tokens.maker, cr.id as string, ['completed', 'halted'], 90_000);
    expect(done.status).toBe('completed');

    const applied = applyEffects(cr.id as string);
    expect(applied.map((e) => e.target).sort()).toEqual([...targets].sort());
    expect(new Set(applied.map((e) => e.idempotencyKey)).size).toBe(40);
    // At least the call whose answer was lost came again with the same key, was answered from the record, and
    // applied nothing.
    const repeated = await p.platform.repeatedKeys();
    expect(Object.keys(repeated).length).toBeGreaterThanOrEqual(1);
    for (const key of Object.keys(repeated))
      expect(applied.filter((e) => e.idempotencyKey === key)).toHaveLength(1);
    const states = await p.platform.readAll();
    for (const id of targets) expect(states[id.split('/')[0]].installations.forms).toBe('deactivated');
    expect(states['site-0141'].installations.forms).toBe('active');
  });
});
