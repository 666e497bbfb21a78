// Several real server processes on one database (issue 13): the replicas of a scale-out installation, each compiled
// once per test file by child-server.ts, plus a client that spreads its requests over them at random.
import { join } from 'node:path';
import { api, ChildServer, freePort, freshDatabase, ServerDb } from './child-server';

export interface Cluster {
  db: ServerDb;
  replicas: ChildServer[];
  /** A JSON client whose every request goes to a running replica picked at random. */
  anyReplica: ReturnType<typeof api>;
  /** Replicas now stopped (killed or terminated): `anyReplica` avoids them. */
  down: Set<ChildServer>;
  stop(): Promise<void>;
}

/** Starts `n` replicas of the compiled server `cli` (compileServer) on a fresh database; logs go to `dir`. */
export async function startCluster(
  dir: string,
  n: number,
  cli: string,
  env: Record<string, string> = {},
): Promise<Cluster> {
  const db = await freshDatabase(dir);
  const replicas: ChildServer[] = [];
  for (let i = 0; i < n; i++) {
    replicas.push(
      new ChildServer(cli, await freePort(), db.url, join(dir, `replica-${i}.log`), {
        // Several replicas share one PostgreSQL: keep each one's pool small.
        WAVEGATE_DB_POOL_SIZE: '5',
        WAVEGATE_SHUTDOWN_GRACE_MS: '300',
        ...env,
      }),
    );
  }
  // All at once on the empty schema, as a deployment starts them: one migrates, the others wait for its migration
  // lock and find nothing to do (runMigrations).
  await Promise.all(replicas.map((r) => r.start(120_000)));
  const down = new Set<ChildServer>();
  const up = () => replicas.filter((r) => !down.has(r));
  return {
    db,
    replicas,
    down,
    anyReplica: api(() => {
      const live = up();
      return live[Math.floor(Math.random() * live.length)].url;
    }),
    async stop() {
      await Promise.all(replicas.map((r) => r.kill()));
      await db.drop();
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The p-th percentile (nearest rank) of `xs`. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** Polls `probe` every 50 ms until it returns a value; throws naming `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** A client token (the SDKs' and the Unleash client API's credential) for `environment`. */
export async function clientToken(
  http: ReturnType<typeof api>,
  admin: string,
  environment: string,
): Promise<string> {
  const r = await http.post('/api/tokens', admin, {
    name: `${environment}-client`,
    kind: 'client',
    environment,
  });
  if (r.status !== 201) throw new Error(`client token: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token as string;
}
