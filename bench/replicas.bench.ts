// Benchmark (issue 13): client API requests/s with one and with three replicas on one PostgreSQL; fan-out latency of a
// flag change from the commit to the SSE clients of the other replicas (p50/p99 over BENCH_CHANGES changes); engine
// targets/s of a CR run by a real server process on PostgreSQL versus SQLite.
// Run: BENCH_DATABASE_URL=postgres://…/yourdb npm run bench:replicas   (TEST_DATABASE_URL is used when
// BENCH_DATABASE_URL is not set; BENCH_SECONDS 5, BENCH_CONNECTIONS 48 in all, BENCH_TARGETS 1000, BENCH_CHANGES 100).
// Servers are real `serve` processes compiled into a temporary directory; the load generator runs in this process, on
// the same machine (so with three replicas it competes with them for the same cores).
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import {
  api,
  ChildServer,
  compileServer,
  freePort,
  freshDatabase,
  tempDir,
} from '../test/support/child-server';
import { Cluster, percentile, startCluster } from '../test/support/cluster';
import { SseClient } from '../test/support/sse-client';
import { OUTAGE_APPS, crBody, installations, tenantRows } from '../test/support/factories';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../test/support/test-app';

const PG = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 48);
const TARGETS = Number(process.env.BENCH_TARGETS ?? 1000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 100);
const FLAGS = 200;

async function seedFlags(base: string): Promise<string> {
  const http = api(base);
  const admin = await http.login(ADMIN_EMAIL, ADMIN_PASSWORD);
  for (let i = 0; i < FLAGS; i++) {
    const r = await http.post('/api/flags', admin, {
      key: `flag-${String(i).padStart(3, '0')}`,
      environments: {
        development: {
          enabled: i % 2 === 0,
          strategies: [
            { name: 'flexibleRollout', parameters: { rollout: String(i % 100), stickiness: 'default' } },
          ],
        },
      },
    });
    if (r.status !== 201) throw new Error(`flag: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const t = await http.post('/api/tokens', admin, {
    name: 'bench',
    kind: 'client',
    environment: 'development',
  });
  return t.body.token as string;
}

/** Requests/s over all `urls` at once (the connections split evenly), 200 responses only. */
async function requestsPerSecond(urls: string[], token: string): Promise<number> {
  const per = Math.max(1, Math.floor(CONNECTIONS / urls.length));
  const results = await Promise.all(
    urls.map((u) =>
      autocannon({
        url: `${u}/api/client/features`,
        connections: per,
        duration: SECONDS,
        headers: { authorization: token },
        workers: 1,
      }),
    ),
  );
  let total = 0;
  for (const r of results) {
    if (r.errors > 0 || r.non2xx > 0) throw new Error(`errors ${r.errors}, non-2xx ${r.non2xx}`);
    total += r.requests.average;
  }
  return total;
}

/**
 * CHANGES flag changes, each made on a replica picked at random, with one SSE client on every replica: from the commit
 * (the outbox event's occurredAt, read under the ledger lock just before the commit, same machine clock) to the
 * update's arrival at the clients of the two other replicas, and that arrival minus the writer's own client's.
 */
async function fanOut(cluster: Cluster, token: string): Promise<void> {
  const http = api(cluster.replicas[0].url);
  const admin = await http.login(ADMIN_EMAIL, ADMIN_PASSWORD);
  const streams = cluster.replicas.map((r) => new SseClient(r.url, '/api/client/stream', token, false));
  try {
    for (const s of streams) await s.waitFor('unleash-connected', 1);
    const head = async () => {
      let after: string | undefined;
      for (;;) {
        const page = await http.get(`/api/events?limit=1000${after ? `&after=${after}` : ''}`, admin);
        const items = page.body.items as unknown[];
        after = (page.body.nextCursor as string | undefined) ?? after;
        if (items.length < 1000) return after;
      }
    };
    const start = await head();
    const arrivals: Array<{ writer: number; at: number[] }> = [];
    for (let i = 1; i <= CHANGES; i++) {
      const writer = Math.floor(Math.random() * cluster.replicas.length);
      const r = await api(cluster.replicas[writer].url).put(
        '/api/flags/flag-000/environments/development',
        admin,
        {
          // flag-000 starts enabled (seedFlags): the first change turns it off, so every change changes the snapshot.
          enabled: i % 2 === 0,
        },
      );
      if (r.status !== 200) throw new Error(`PUT: ${r.status}`);
      const got = await Promise.all(streams.map((s) => s.waitFor('unleash-updated', i, 10_000)));
      arrivals.push({ writer, at: got.map((e) => e.at) });
    }
    const events = await http.get(`/api/events?limit=1000${start ? `&after=${start}` : ''}`, admin);
    const committed = (events.body.items as { type: string; entityId: string; occurredAt: string }[])
      .filter((e) => e.type === 'flag.updated' && e.entityId === 'flag-000')
      .map((e) => Date.parse(e.occurredAt));
    if (committed.length !== CHANGES)
      throw new Error(`expected ${CHANGES} flag events, got ${committed.length}`);
    const fromCommit: number[] = [];
    const afterWriter: number[] = [];
    arrivals.forEach((a, i) => {
      a.at.forEach((at, replica) => {
        if (replica === a.writer) return;
        fromCommit.push(at - committed[i]);
        afterWriter.push(at - a.at[a.writer]);
      });
    });
    const line = (xs: number[]) =>
      `p50 ${percentile(xs, 50)} ms, p99 ${percentile(xs, 99)} ms, max ${Math.max(...xs)} ms`;
    process.stdout.write(
      `fan-out, flag change on one replica -> SSE clients of the other two (${fromCommit.length} deliveries, ` +
        `outbox poll off, NOTIFY only):\n  from the commit: ${line(fromCommit)}\n` +
        `  after the writer's own client: ${line(afterWriter)}\n`,
    );
  } finally {
    for (const s of streams) s.close();
  }
}

async function clientApi(cli: string, dir: string): Promise<void> {
  const prev = process.env.TEST_DATABASE_URL;
  process.env.TEST_DATABASE_URL = PG;
  // The outbox poll off: every cross-replica update in fanOut comes through LISTEN/NOTIFY.
  const cluster = await startCluster(dir, 3, cli, { LOG_LEVEL: 'warn', WAVEGATE_OUTBOX_POLL_MS: '600000' });
  if (prev === undefined) delete process.env.TEST_DATABASE_URL;
  else process.env.TEST_DATABASE_URL = prev;
  try {
    const token = await seedFlags(cluster.replicas[0].url);
    await new Promise((r) => setTimeout(r, 1000)); // every replica has rebuilt its snapshot
    const one = await requestsPerSecond([cluster.replicas[0].url], token);
    const three = await requestsPerSecond(
      cluster.replicas.map((r) => r.url),
      token,
    );
    process.stdout.write(
      `client API, GET /api/client/features (${FLAGS} flags, 200 responses, ${CONNECTIONS} connections, ${SECONDS} s):\n` +
        `  1 replica:  ${Math.round(one)} requests/s\n  3 replicas: ${Math.round(three)} requests/s (${(three / one).toFixed(2)}x)\n`,
    );
    await fanOut(cluster, token);
  } finally {
    await cluster.stop();
  }
}

async function engine(
  cli: string,
  dir: string,
  databaseUrl: string | undefined,
  label: string,
): Promise<void> {
  const prev = process.env.TEST_DATABASE_URL;
  if (databaseUrl) process.env.TEST_DATABASE_URL = databaseUrl;
  else delete process.env.TEST_DATABASE_URL;
  const db = await freshDatabase(dir);
  if (prev === undefined) delete process.env.TEST_DATABASE_URL;
  else process.env.TEST_DATABASE_URL = prev;
  const server = new ChildServer(cli, await freePort(), db.url, join(dir, `engine-${label}.log`), {
    LOG_LEVEL: 'warn',
    WAVEGATE_ENGINE_POLL_MS: '20',
  });
  try {
    await server.start(180_000);
    const http = api(server.url);
    const admin = await http.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    const users: Record<string, string> = {};
    for (const [name, roles] of [
      ['maker', ['maker']],
      ['c1', ['checker']],
      ['c2', ['checker']],
    ] as const) {
      const email = `${name}@bench.test`;
      await http.post('/api/users', admin, { email, name, password: 'user-password-123', roles });
      users[name] = await http.login(email, 'user-password-123');
    }
    for (const a of OUTAGE_APPS)
      await http.post('/api/apps', admin, { key: a.key, name: a.key, legacy: a.legacy ?? false });
    const rows = tenantRows(TARGETS);
    const imported = await http.post('/api/tenants', admin, { tenants: rows });
    if (imported.status !== 201) throw new Error(`import: ${imported.status}`);
    const created = await http.post(
      '/api/change-requests',
      users.maker,
      crBody({
        targets: installations(
          rows.map((r) => r.id),
          'insight',
        ),
        waves: { sizes: [TARGETS], bakeSeconds: 0 },
        ticket: 'BENCH-1',
      }),
    );
    const cr = created.body as { id: string; planHash: string; requiredApprovals: number };
    await http.post(`/api/change-requests/${cr.id}/submit`, users.maker);
    for (const c of [users.c1, users.c2].slice(0, cr.requiredApprovals))
      await http.post(`/api/change-requests/${cr.id}/approve`, c, { planHash: cr.planHash });
    const t0 = Date.now();
    await http.post(`/api/change-requests/${cr.id}/execute`, users.c1);
    for (;;) {
      const p = await http.get(`/api/change-requests/${cr.id}/progress`, users.c1);
      if (p.body.status === 'completed') break;
      if (p.body.status !== 'running' && p.body.status !== 'approved')
        throw new Error(`CR ${String(p.body.status)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const ms = Date.now() - t0;
    process.stdout.write(
      `engine, ${TARGETS} targets in one wave (installation.deactivate), ${label}: ${(ms / 1000).toFixed(2)} s, ` +
        `${Math.round((TARGETS / ms) * 1000)} targets/s\n`,
    );
  } finally {
    await server.kill();
    await db.drop();
  }
}

async function main(): Promise<void> {
  if (!PG)
    throw new Error('set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to a PostgreSQL database of your own');
  const tmp = tempDir();
  const startLoad = loadavg();
  try {
    const cli = await compileServer();
    await clientApi(cli, tmp.dir);
    await engine(cli, tmp.dir, undefined, 'SQLite');
    await engine(cli, tmp.dir, PG as string, 'PostgreSQL');
    process.stdout.write(
      `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}; node ${process.version}; ` +
        `load average at start ${startLoad.map((x) => x.toFixed(2)).join(' ')}, at end ${loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')}\n`,
    );
  } finally {
    tmp.remove();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
