// Real server processes for the crash and lease-takeover tests (issue 4): the server is compiled once per test file
// into a temporary directory (no shared `dist/` is touched), then started as `node <tmp>/dist/cli.js serve` on a
// database of the test's own, killed with SIGKILL and started again.
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
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
