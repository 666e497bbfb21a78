// Real Wavegate processes for the tests that need one: the crash and lease-takeover tests and the provider outage drill
// (issue 4) start servers, compiled once per test file into a temporary directory (no shared `dist/` is touched),
// as `node <tmp>/dist/cli.js serve` on a database of the test's own, kill them with SIGKILL and start them again;
// the CLI test runs `src/cli.ts` through ts-node (`cliRunner`). Also the steps those tests share: people, tenants,
// and a change request taken from creation to execution.
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { OUTAGE_APPS, tenantRows } from './factories';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './test-app';

const ROOT = join(__dirname, '..', '..');

/** Compiles src/ into `<dir>/dist` (type errors elsewhere do not stop the emit). */
export async function compileServer(dir: string): Promise<string> {
  const out = join(dir, 'dist');
  await promisify(execFile)(
    process.execPath,
    [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(ROOT, 'tsconfig.build.json'),
      '--outDir',
      out,
      '--tsBuildInfoFile',
      join(dir, 'tsbuildinfo'),
    ],
    { cwd: ROOT },
  ).catch((e: { stdout?: string }) => {
    // tsc exits non-zero on type errors but still emits; only a missing cli.js is fatal (checked below).
    if (!String(e.stdout ?? '').length) throw e;
  });
  return join(out, 'cli.js');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerDb {
  url: string;
  drop(): Promise<void>;
}

/** A fresh SQLite file, or a fresh schema of TEST_DATABASE_URL. */
export async function freshDatabase(dir: string): Promise<ServerDb> {
  const pgUrl = process.env.TEST_DATABASE_URL;
  if (!pgUrl) return { url: `sqlite:${join(dir, 'wavegate.sqlite')}`, drop: async () => undefined };
  const schema = `wg_child_${randomBytes(6).toString('hex')}`;
  const c = new Client({ connectionString: pgUrl });
  await c.connect();
  await c.query(`CREATE SCHEMA ${schema}`);
  await c.end();
  const u = new URL(pgUrl);
  u.searchParams.set('schema', schema);
  return {
    url: u.toString(),
    async drop() {
      const d = new Client({ connectionString: pgUrl });
      await d.connect();
      await d.query(`DROP SCHEMA ${schema} CASCADE`);
      await d.end();
    },
  };
}

export class ChildServer {
  private child?: ChildProcess;
  starts = 0;

  constructor(
    private readonly cli: string,
    private port: number,
    private readonly databaseUrl: string,
    private readonly logFile: string,
    private readonly env: Record<string, string> = {},
  ) {}

  /** Where the server listens now (the port changes only if another process took it while this one was down). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startOnce(timeoutMs);
      } catch (e) {
        // Parallel test files pick free ports too; if one took ours between a kill and the restart, move.
        if (attempt >= 3 || !String(e).includes('EADDRINUSE')) throw e;
        this.port = await freePort();
      }
    }
  }

  private async startOnce(timeoutMs: number): Promise<void> {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    this.child = spawn(process.execPath, [this.cli, 'serve'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        // The server is compiled outside the repository; its packages still come from the repository's node_modules.
        NODE_PATH: join(ROOT, 'node_modules'),
        PORT: String(this.port),
        HOST: '127.0.0.1',
        DATABASE_URL: this.databaseUrl,
        WAVEGATE_SECRET: 'test-secret-0123456789-0123456789-abcdef',
        WAVEGATE_ADMIN_EMAIL: ADMIN_EMAIL,
        WAVEGATE_ADMIN_PASSWORD: ADMIN_PASSWORD,
        WAVEGATE_LOGIN_RATE_LIMIT: '10000',
        LOG_LEVEL: 'warn',
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.pipe(log);
    this.child.stderr?.pipe(log);
    this.starts++;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) {
        // The log's tail in the message, so a CI failure shows why the server would not start.
        await new Promise((r) => setTimeout(r, 100));
        const tail = existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8').slice(-3000) : '(no log)';
        throw new Error(`server exited with ${this.child.exitCode}; log tail:\n${tail}`);
      }
      try {
        const res = await fetch(`${this.url}/health/live`);
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`server did not start within ${timeoutMs} ms; see ${this.logFile}`);
  }

  /** SIGKILL: no shutdown hook runs, an open transaction is simply lost. */
  async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM (graceful shutdown): resolves with the exit code and how long the process took to exit. */
  async terminate(): Promise<{ code: number | null; ms: number }> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return { code: c?.exitCode ?? null, ms: 0 };
    const started = Date.now();
    const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
    c.kill('SIGTERM');
    const code = await exited;
    return { code, ms: Date.now() - started };
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }
}

/** A small JSON client for a child server. */
export function api(base: string | (() => string)) {
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(`${typeof base === 'function' ? base() : base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    // Test code reads the JSON loosely, as a person reading the response would.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, any> };
  };
  return {
    get: (path: string, token?: string) => call('GET', path, token),
    post: (path: string, token?: string, body?: unknown) => call('POST', path, token, body ?? {}),
    put: (path: string, token?: string, body?: unknown) => call('PUT', path, token, body ?? {}),
    async login(email: string, password: string): Promise<string> {
      const r = await call('POST', '/api/auth/login', undefined, { email, password });
      if (r.status !== 200) throw new Error(`login failed ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.accessToken as string;
    },
  };
}

/** A temporary directory; kept (with the servers' logs) when KEEP_CHILD_LOGS is set, for debugging. */
export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'wavegate-child-'));
  return {
    dir,
    remove: () => {
      if (process.env.KEEP_CHILD_LOGS) process.stderr.write(`child server logs kept in ${dir}\n`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs the operator CLI (`src/cli.ts` through ts-node, so no build is needed) with `env`; `input` goes to stdin. */
export function cliRunner(env: NodeJS.ProcessEnv) {
  return (args: string[], input?: string, extraEnv: NodeJS.ProcessEnv = {}) => {
    const child = promisify(execFile)(
      process.execPath,
      ['-r', 'ts-node/register', join(ROOT, 'src/cli.ts'), ...args],
      { env: { ...env, ...extraEnv }, cwd: ROOT },
    );
    if (input !== undefined) child.child.stdin?.end(input);
    return child;
  };
}

export type ChildApi = ReturnType<typeof api>;

/** A maker and two checkers (`<name>@<domain>`), signed in: their tokens by name. */
export async function seedPeople(
  http: ChildApi,
  admin: string,
  domain: string,
): Promise<{ maker: string; c1: string; c2: string }> {
  const tokens = { maker: '', c1: '', c2: '' };
  for (const [name, roles] of [
    ['maker', ['maker']],
    ['c1', ['checker']],
    ['c2', ['checker']],
  ] as const) {
    const email = `${name}@${domain}`;
    const r = await http.post('/api/users', admin, { email, name, password: 'user-password-123', roles });
    expect(r.status).toBe(201);
    tokens[name] = await http.login(email, 'user-password-123');
  }
  return tokens;
}

/** The outage apps and `count` tenants (factories: OUTAGE_APPS, tenantRows); the tenants' rows. */
export async function seedTenants(http: ChildApi, admin: string, count: number) {
  for (const a of OUTAGE_APPS) {
    expect(
      (await http.post('/api/apps', admin, { key: a.key, name: a.key, legacy: a.legacy ?? false })).status,
    ).toBe(201);
  }
  const rows = tenantRows(count);
  expect((await http.post('/api/tenants', admin, { tenants: rows })).status).toBe(201);
  return rows;
}

/** Creates the change request, submits it, has as many checkers as it needs approve its plan, and executes it. */
export async function executeChangeRequest(
  http: ChildApi,
  tokens: { maker: string; c1: string; c2: string },
  body: unknown,
): Promise<{ id: string; planHash: string; requiredApprovals: number }> {
  const created = await http.post('/api/change-requests', tokens.maker, body);
  expect(created.status).toBe(201);
  const cr = created.body as { id: string; planHash: string; requiredApprovals: number };
  expect((await http.post(`/api/change-requests/${cr.id}/submit`, tokens.maker)).status).toBe(200);
  for (const c of [tokens.c1, tokens.c2].slice(0, cr.requiredApprovals)) {
    expect(
      (await http.post(`/api/change-requests/${cr.id}/approve`, c, { planHash: cr.planHash })).status,
    ).toBe(200);
  }
  expect((await http.post(`/api/change-requests/${cr.id}/execute`, tokens.c1)).status).toBe(200);
  return cr;
}
