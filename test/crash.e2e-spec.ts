import { join } from 'node:path';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './support/test-app';
import { crBody, installations } from './support/factories';
import {
  api,
  ChildServer,
  compileServer,
  executeChangeRequest,
  freePort,
  freshDatabase,
  seedPeople,
  seedTenants,
  ServerDb,
  tempDir,
} from './support/child-server';

// Crash safety (DESIGN.md "Waves and halting"): a real server process runs a 2,000-target CR and is killed with
// SIGKILL at 20 random moments while it works, then started again. At the end every target was applied exactly once.
const TARGETS = 2000;
const KILLS = 20;
// Waves of at most 100 with a 1 s bake: each restart has a wave to work on, so the 20 kills land while targets run
// (or during a bake, which must survive a crash too), however fast or loaded the machine is.
const WAVE_SIZES = [1, 2, 8, 64, ...Array<number>(19).fill(100)];

describe('crash safety', () => {
  const tmp = tempDir();
  let db: ServerDb;
  let server: ChildServer;

  beforeAll(async () => {
    const cli = await compileServer();
    db = await freshDatabase(tmp.dir);
    server = new ChildServer(cli, await freePort(), db.url, join(tmp.dir, 'server.log'), {
      // A short lease, so the restarted process takes the CR over quickly after the dead one's lease expires.
      WAVEGATE_ENGINE_LEASE_MS: '700',
      WAVEGATE_ENGINE_POLL_MS: '20',
      // One target per transaction: the most commit points for a kill to land between (and inside).
      WAVEGATE_ENGINE_BATCH: '1',
    });
    await server.start(60_000);
  }, 180_000);

  afterAll(async () => {
    await server?.kill();
    await db?.drop();
    tmp.remove();
  });

  it(`every one of ${TARGETS} targets is applied exactly once across ${KILLS} SIGKILLs`, async () => {
    const http = api(() => server.url);
    const admin = await http.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    const users = await seedPeople(http, admin, 'crash.test');
    const rows = await seedTenants(http, admin, TARGETS);
    const cr = await executeChangeRequest(
      http,
      users,
      crBody({
        targets: installations(
          rows.map((r) => r.id),
          'insight',
        ),
        waves: { sizes: WAVE_SIZES, bakeSeconds: 1 },
        ticket: 'CRASH-1',
      }),
    );

    const succeeded = async () => {
      const r = await http.get(`/api/change-requests/${cr.id}/progress`, users.c1);
      return { n: Number(r.body.progress?.succeeded ?? 0), status: String(r.body.status) };
    };
    let kills = 0;
    let last = 0;
    while (kills < KILLS) {
      // Wait until the engine makes progress in this process, then kill it a random moment later.
      const deadline = Date.now() + 20_000;
      let p = await succeeded();
      while (p.n <= last && p.status === 'running' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
        p = await succeeded();
      }
      if (p.status !== 'running')
        throw new Error(`CR left running after ${kills} kills: ${JSON.stringify(p)}`);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 15)));
      await server.kill();
      kills++;
      await server.start(60_000);
      last = (await succeeded()).n;
    }
    expect(kills).toBe(KILLS);

    const deadline = Date.now() + 60_000;
    let final = await succeeded();
    while (final.status === 'running' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      final = await succeeded();
    }
    expect(final).toEqual({ n: TARGETS, status: 'completed' });

    // The operation's own effect: every insight installation deactivated, nothing else touched.
    const seen = new Map<string, string>();
    let cursor: string | undefined;
    for (;;) {
      const page = await http.get(`/api/tenants?limit=500${cursor ? `&cursor=${cursor}` : ''}`, admin);
      for (const t of page.body.items as {
        id: string;
        installations: { appKey: string; status: string }[];
      }[]) {
        for (const i of t.installations) seen.set(`${t.id}/${i.appKey}`, i.status);
      }
      cursor = page.body.nextCursor as string | undefined;
      if (!cursor) break;
    }
    const insight = [...seen].filter(([k]) => k.endsWith('/insight'));
    expect(insight).toHaveLength(TARGETS);
    expect(insight.every(([, s]) => s === 'deactivated')).toBe(true);
    expect([...seen].filter(([k, s]) => !k.endsWith('/insight') && s !== 'active')).toEqual([]);

    // Each target was claimed and applied in exactly one committed transaction.
    const failed = await http.get(`/api/change-requests/${cr.id}/targets?status=failed`, admin);
    expect(failed.body.items).toEqual([]);
    let attempts = 0;
    let targets = 0;
    cursor = undefined;
    for (;;) {
      const page = await http.get(
        `/api/change-requests/${cr.id}/targets?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        admin,
      );
      for (const t of page.body.items as { attempts: number }[]) {
        targets++;
        attempts += t.attempts;
      }
      cursor = page.body.nextCursor as string | undefined;
      if (!cursor) break;
    }
    expect({ targets, attempts }).toEqual({ targets: TARGETS, attempts: TARGETS });

    // The change feed holds exactly one target_succeeded event per target; the audit chain verifies.
    const perTarget = new Map<string, number>();
    let after: string | undefined;
    for (;;) {
      const page = await http.get(`/api/events?limit=1000${after ? `&after=${after}` : ''}`, admin);
      const items = page.body.items as { type: string; entityId: string; data: { target: string } }[];
      for (const e of items) {
        if (e.type === 'change_request.target_succeeded' && e.entityId === cr.id) {
          perTarget.set(e.data.target, (perTarget.get(e.data.target) ?? 0) + 1);
        }
      }
      after = page.body.nextCursor as string;
      if (items.length === 0) break;
    }
    expect(perTarget.size).toBe(TARGETS);
    expect([...perTarget.values()].every((n) => n === 1)).toBe(true);
    const verify = await http.get('/api/audit/verify', admin);
    expect(verify.body).toMatchObject({ ok: true });
  }, 600_000);
});
