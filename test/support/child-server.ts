// Real Wavegate processes for the tests that need one: the crash and lease-takeover tests, the provider outage drill
// (issue 4) and the operator CLI test run the compiled server (`compileServer`: one compile per content of src/,
// shared by every test file; no `dist/` is touched) as `node <cache>/cli.js ...` on a database of the test's own, kill
// them with SIGKILL and start them again. Also the steps those tests share: people, tenants, and a change request
// taken from creation to execution.
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { OUTAGE_APPS, tenantRows } from './factories';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './test-app';

const ROOT = join(__dirname, '..', '..');

/**
 * Compiles src/ once per content of src/ and the tsconfigs: the output is kept under
 * node_modules/.cache/wavegate-test-server/<sha256 of those files>, so the test files of one run (and the SQLite and
 * PostgreSQL passes of CI) share one compile instead of each paying ~30 s for its own. A test file that finds no
 * compile for the current sources makes one in a directory of its own and renames it into place; two doing so at once
 * waste a compile, never mix outputs. Type errors do not stop the emit (lint type-checks); a missing cli.js is fatal.
 * Returns the path of cli.js. Compiles of older sources are removed once a new one is in place.
 */
export async function compileServer(): Promise<string> {
  compiled ??= compileOnce();
  return compiled;
}

let compiled: Promise<string> | undefined;

function sourcesHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else
        hash
          .update(`${relative(ROOT, path)}\0`)
          .update(readFileSync(path))
          .update('\0');
    }
  };
  walk(join(ROOT, 'src'));
  for (const file of ['tsconfig.json', 'tsconfig.build.json', 'package.json'])
    hash.update(file).update(readFileSync(join(ROOT, file)));
  return hash.digest('hex').slice(0, 20);
}

async function compileOnce(): Promise<string> {
  const cache = join(ROOT, 'node_modules', '.cache', 'wavegate-test-server');
  const final = join(cache, sourcesHash());
  if (existsSync(join(final, 'cli.js'))) return join(final, 'cli.js');
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(join(cache, 'compiling-'));
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  try {
    // The server requires @wavegate/evaluation's build (its package.json points at dist/); `npm test` on a fresh
    // clone has not built it yet. `tsc -b` is a no-op when it is up to date (CI builds first).
    await promisify(execFile)(
      process.execPath,
      [tsc, '-b', join(ROOT, 'packages/evaluation/tsconfig.json')],
      {
        cwd: ROOT,
      },
    );
    await promisify(execFile)(
      process.execPath,
      [
        tsc,
        '-p',
        join(ROOT, 'tsconfig.build.json'),
        '--outDir',
        join(work, 'dist'),
        '--incremental',
        'false',
      ],
      { cwd: ROOT },
    ).catch((e: { stdout?: string }) => {
      if (!String(e.stdout ?? '').length) throw e;
    });
    if (!existsSync(join(work, 'dist', 'cli.js'))) throw new Error(`tsc emitted no cli.js into ${work}`);
    try {
      renameSync(join(work, 'dist'), final);
    } catch (e) {
      // Another test file renamed its compile of the same sources into place first.
      if (!existsSync(join(final, 'cli.js'))) throw e;
    }
    // Compiles of other sources (an earlier edit) are never used again; compiles in progress are left alone.
    for (const old of readdirSync(cache))
      if (old !== basename(final) && !old.startsWith('compiling-'))
        rmSync(join(cache, old), { recursive: true, force: true });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return join(final, 'cli.js');
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

/** Runs the operator CLI (the compiled server, `compileServer`) with `env`; `input` goes to stdin. */
export function cliRunner(env: NodeJS.ProcessEnv) {
  return (args: string[], input?: string, extraEnv: NodeJS.ProcessEnv = {}) => {
    return compileServer().then((cli) => {
      const child = promisify(execFile)(process.execPath, [cli, ...args], {
        env: { ...env, ...extraEnv },
        cwd: ROOT,
      });
      if (input !== undefined) child.child.stdin?.end(input);
      return child;
    });
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
