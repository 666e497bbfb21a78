import { join } from 'node:path';
import { api, ChildServer, compileServer, freePort, freshDatabase, tempDir } from './support/child-server';
import { clientToken, until } from './support/cluster';
import { SseClient } from './support/sse-client';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './support/test-app';

// Graceful shutdown of one replica (issue 13, docs/decisions/0018-replicas-fan-out.md), on SQLite and PostgreSQL;
// the three-replica acceptance is test/replicas.pg-e2e-spec.ts (PostgreSQL pass only).

describe('graceful shutdown on SIGTERM', () => {
  const tmp = tempDir();
  let server: ChildServer;
  let drop: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    const cli = await compileServer();
    const db = await freshDatabase(tmp.dir);
    drop = () => db.drop();
    server = new ChildServer(cli, await freePort(), db.url, join(tmp.dir, 'server.log'), {
      WAVEGATE_SHUTDOWN_GRACE_MS: '1500',
    });
    await server.start(90_000);
  }, 180_000);

  afterAll(async () => {
    await server?.kill();
    await drop();
    tmp.remove();
  });

  it('turns readiness false first, still serves during the grace, ends streams with a retry hint, exits in 10 s', async () => {
    const http = api(server.url);
    const admin = await http.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    const token = await clientToken(http, admin, 'development');
    expect((await http.get('/health/ready')).status).toBe(200);
    const stream = new SseClient(server.url, '/api/client/stream', token);
    await stream.waitFor('unleash-connected', 1);

    const exit = server.terminate();
    const ready = await until(
      'readiness 503',
      async () => {
        const r = await http.get('/health/ready');
        return r.status === 503 ? r : undefined;
      },
      1_000,
    );
    expect(ready.body).toEqual({ status: 'unavailable', checks: { replica: 'draining' } });
    // Still answering while the load balancer moves away: liveness and the API.
    expect((await http.get('/health/live')).status).toBe(200);
    expect((await http.get('/api/auth/me', admin)).status).toBe(200);

    await stream.ended;
    expect(stream.retries.length).toBeGreaterThanOrEqual(2); // the stream's own and the shutdown hint
    const hint = stream.retries[stream.retries.length - 1];
    expect(hint).toBeGreaterThanOrEqual(250);
    expect(hint).toBeLessThan(2_000);
    const { code, ms } = await exit;
    process.stdout.write(`SIGTERM to exit: ${ms} ms (grace 1500 ms)\n`);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(10_000);
  }, 60_000);
});
