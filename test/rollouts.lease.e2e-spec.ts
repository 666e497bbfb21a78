import { join } from 'node:path';
import { ADMIN_EMAIL, ADMIN_PASSWORD, onPostgres } from './support/test-app';
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

// Several replicas on one PostgreSQL (DESIGN.md "Waves and halting"): the lease in the database decides which one
// runs a CR; when the holder dies, another takes over after the lease expires, and no target runs twice.
// On SQLite (one embedded file, one process) the same test runs with both processes on the file, which exercises
// the same conditional-UPDATE lease.
const TARGETS = 500;
const LEASE_MS = 1500;

describe(`lease takeover between two server processes (${onPostgres() ? 'PostgreSQL' : 'SQLite'})`, () => {
  const tmp = tempDir();
  let db: ServerDb;
  let one: ChildServer;
  let two: ChildServer;

  beforeAll(async () => {
    const cli = await compileServer();
    db = await freshDatabase(tmp.dir);
    const env = {
      WAVEGATE_ENGINE_LEASE_MS: String(LEASE_MS),
      WAVEGATE_ENGINE_POLL_MS: '20',
      WAVEGATE_ENGINE_BATCH: '1',
    };
    one = new ChildServer(cli, await freePort(), db.url, join(tmp.dir, 'one.log'), env);
    await one.start(60_000);
    two = new ChildServer(cli, await freePort(), db.url, join(tmp.dir, 'two.log'), env);
  }, 180_000);

  afterAll(async () => {
    await one?.kill();
    await two?.kill();
    await db?.drop();
    tmp.remove();
  });

  it(`the survivor finishes a ${TARGETS}-target CR after the holder is killed mid-wave; no target runs twice`, async () => {
    const http = api(one.url);
    const admin = await http.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    const tokens = await seedPeople(http, admin, 'lease.test');
    const rows = await seedTenants(http, admin, TARGETS);
    await two.start(60_000);
    // Executed through replica one; whichever replica claims the lease first runs it.
    const cr = await executeChangeRequest(
      http,
      tokens,
      crBody({
        targets: installations(
          rows.map((r) => r.id),
          'insight',
        ),
        waves: { sizes: [1, 2, 497], bakeSeconds: 0 },
        ticket: 'LEASE-1',
      }),
    );

    const viaTwo = api(two.url);
    const progress = async () => (await viaTwo.get(`/api/change-requests/${cr.id}/progress`, tokens.c1)).body;
    let p = await progress();
    const deadline = Date.now() + 30_000;
    while (Number(p.progress?.succeeded ?? 0) < 50 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      p = await progress();
    }
    expect(p.status).toBe('running');
    const atKill = Number(p.progress.succeeded);
    expect(atKill).toBeLessThan(TARGETS);
    // Kill the holder of the lease (the owner id names its pid).
    const lease = await viaTwo.get(`/api/change-requests/${cr.id}/progress`, tokens.c1);
    const holder = String(lease.body.leaseOwner ?? '');
    const victim = holder.includes(`:${one.pid}:`) ? one : two;
    const survivor = victim === one ? two : one;
    await victim.kill();

    const viaSurvivor = api(survivor.url);
    const end = Date.now() + 60_000;
    let final = (await viaSurvivor.get(`/api/change-requests/${cr.id}/progress`, tokens.c1)).body;
    while (final.status === 'running' && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
      final = (await viaSurvivor.get(`/api/change-requests/${cr.id}/progress`, tokens.c1)).body;
    }
    expect(final.status).toBe('completed');
    expect(final.progress.succeeded).toBe(TARGETS);
    expect(String(final.leaseOwner ?? '')).not.toContain(`:${victim.pid}:`);

    let attempts = 0;
    let cursor: string | undefined;
    for (;;) {
      const page = await viaSurvivor.get(
        `/api/change-requests/${cr.id}/targets?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        admin,
      );
      for (const t of page.body.items as { attempts: number; status: string }[]) attempts += t.attempts;
      cursor = page.body.nextCursor as string | undefined;
      if (!cursor) break;
    }
    expect(attempts).toBe(TARGETS);
    const perTarget = new Map<string, number>();
    let after: string | undefined;
    for (;;) {
      const page = await viaSurvivor.get(`/api/events?limit=1000${after ? `&after=${after}` : ''}`, admin);
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
    expect((await viaSurvivor.get('/api/audit/verify', admin)).body).toMatchObject({ ok: true });
  }, 300_000);
});
