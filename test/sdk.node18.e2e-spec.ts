import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { apiToken, createFlags } from './support/factories';
import { bearer, startTestApp, TestApp } from './support/test-app';

// @wavegate/sdk declares `engines.node >=18`: this runs the BUILT package (packages/sdk/dist, CommonJS and ESM, and
// the OpenFeature entry point) on a real Node 18 against Wavegate running here (on this test's Node), in a child
// process: test/fixtures/sdk-node18-child.cjs. Node 18 comes from scripts/ensure-node18.mjs (NODE18_PATH, else
// Debian's nodejs 18 unpacked into node_modules/.cache/node18); when there is none the test fails, saying why.

const repo = join(__dirname, '..');
const childScript = join(__dirname, 'fixtures', 'sdk-node18-child.cjs');

/** The Node 18 executable, from scripts/ensure-node18.mjs (which also runs as `pretest`). */
function node18(): string {
  try {
    return execFileSync(process.execPath, [join(repo, 'scripts', 'ensure-node18.mjs'), '--print-path'], {
      cwd: repo,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 600_000,
    }).trim();
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`no Node 18 to run the SDK on: ${err.stderr?.trim() || err.message}`);
  }
}

const newestMtime = (dir: string, ext: string): number =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ext) && !f.endsWith('.spec.ts'))
    .reduce((max, f) => Math.max(max, statSync(join(dir, f)).mtimeMs), 0);

/** The SDK's dist (and the engine's, which it requires), built when missing or older than the sources. */
function ensureBuiltSdk(): void {
  const packages = ['evaluation', 'sdk'].map((p) => join(repo, 'packages', p));
  const stale = packages.some((p) => {
    const dist = join(p, 'dist');
    return !existsSync(dist) || newestMtime(join(p, 'src'), '.ts') > newestMtime(dist, '.js');
  });
  if (!stale && existsSync(join(repo, 'packages', 'sdk', 'dist', 'esm', 'package.json'))) return;
  try {
    execFileSync('npm', ['run', 'build', '-w', 'packages/evaluation', '-w', 'packages/sdk'], {
      cwd: repo,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `packages/sdk/dist is missing or older than its sources, and building it failed ` +
        `(npm run build -w packages/evaluation -w packages/sdk):\n${err.stdout ?? ''}${err.stderr ?? err.message}`,
    );
  }
}

type Step = { step: string } & Record<string, unknown>;

/** The child's JSON lines, awaited by step name; its exit, and everything it wrote to stderr. */
class Child {
  readonly steps: Step[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: (() => void)[] = [];

  constructor(readonly proc: ChildProcessWithoutNullStreams) {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let step: Step;
      try {
        step = JSON.parse(line) as Step;
      } catch {
        step = { step: 'unparsed', line };
      }
      this.steps.push(step);
      for (const w of this.waiters.splice(0)) w();
    });
    proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
    void this.exited.then(() => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  get exitedYet(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null;
  }

  describe(): string {
    return `steps so far: ${this.steps.map((s) => JSON.stringify(s)).join('\n')}\nstderr: ${this.stderr}`;
  }

  async step(name: string, timeoutMs = 20_000): Promise<Step> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.steps.find((s) => s.step === name);
      if (found) return found;
      const failed = this.steps.find((s) => s.step === 'failed');
      if (failed) throw new Error(`the Node 18 child failed before "${name}":\n${this.describe()}`);
      if (this.exitedYet) throw new Error(`the Node 18 child exited before "${name}":\n${this.describe()}`);
      if (Date.now() > deadline)
        throw new Error(`no "${name}" from the Node 18 child within ${timeoutMs} ms:\n${this.describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

describe('@wavegate/sdk (built) on Node 18 against a running Wavegate (e2e)', () => {
  let t: TestApp;
  let maker: string;
  let child: Child;

  const putFlag = async (key: string, body: Record<string, unknown>) => {
    const res = await t
      .http()
      .put(`/api/flags/${key}/environments/development`)
      .set(bearer(maker))
      .send(body);
    expect(res.status).toBe(200);
  };

  const metricsOf = async (key: string, appName: string) => {
    const res = await t.http().get(`/api/flags/${key}/metrics`).set(bearer(maker));
    expect(res.status).toBe(200);
    return (res.body.items as { appName: string; yes: number; no: number }[])
      .filter((b) => b.appName === appName)
      .reduce((acc, b) => ({ yes: acc.yes + b.yes, no: acc.no + b.no }), { yes: 0, no: 0 });
  };

  beforeAll(async () => {
    // Failures here fail every test below with the reason (no Node 18, no build): nothing is skipped.
    const nodeBin = node18();
    ensureBuiltSdk();

    t = await startTestApp();
    await t.app.listen(0, '127.0.0.1');
    maker = (await t.userToken(['maker'])).token;
    await createFlags(t, maker, 'development', {
      'n18-on': { enabled: true, strategies: [{ name: 'default' }] },
      'n18-off': { enabled: false, strategies: [{ name: 'default' }] },
      'n18-beta': { enabled: true, strategies: [{ name: 'userWithId', parameters: { userIds: 'u1,u2' } }] },
      'n18-checkout': {
        enabled: true,
        strategies: [{ name: 'flexibleRollout', parameters: { rollout: 100, stickiness: 'tenantId' } }],
        variants: [
          { name: 'blue', weightType: 'variable', payload: { type: 'string', value: 'blue-button' } },
        ],
      },
    });
    const token = await apiToken(t, 'client', 'development');
    const port = (t.app.getHttpServer().address() as AddressInfo).port;

    child = new Child(
      spawn(nodeBin, ['--expose-gc', childScript], {
        cwd: repo,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/tmp',
          WAVEGATE_URL: `http://127.0.0.1:${port}`,
          WAVEGATE_TOKEN: token,
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    );
  });

  afterAll(async () => {
    if (child && !child.exitedYet) child.proc.kill('SIGKILL');
    await t?.close();
  });

  it('runs on Node 18 and loads the built SDK with require() and with import()', async () => {
    expect((await child.step('start')).version).toMatch(/^v18\./);
    const loaded = await child.step('loaded');
    expect(loaded.cjsEntry).toBe(join(repo, 'packages', 'sdk', 'dist', 'cjs', 'index.js'));
    expect(loaded.twoBuilds).toBe(true);
    for (const exports of [loaded.cjsExports, loaded.esmExports])
      expect(exports).toEqual(
        expect.arrayContaining([
          'WavegateClient',
          'WavegateAuthError',
          'WavegateTimeoutError',
          'silentLogger',
        ]),
      );
  });

  it('becomes ready from the stream and evaluates like the server (both builds)', async () => {
    const ready = await child.step('ready');
    for (const build of ['cjs', 'esm']) {
      expect(ready[build]).toEqual({
        status: expect.objectContaining({ connection: 'streaming', source: 'stream', flagCount: 4 }),
        flagNames: ['n18-beta', 'n18-checkout', 'n18-off', 'n18-on'],
        on: true,
        off: false,
        betaU1: true,
        betaU9: false,
        unknownWithFallback: true,
        variant: expect.objectContaining({
          name: 'blue',
          enabled: true,
          payload: { type: 'string', value: 'blue-button' },
        }),
      });
    }
  });

  it('rejects ready() with WavegateAuthError on a token Wavegate does not know', async () => {
    expect((await child.step('auth')).authError).toEqual({
      name: 'WavegateAuthError',
      isWavegateAuthError: true,
    });
  });

  it('picks up a flag change through the stream', async () => {
    await child.step('waiting-for-update');
    await putFlag('n18-off', { enabled: true, strategies: [{ name: 'default' }] });
    const updated = await child.step('updated');
    for (const build of ['cjs', 'esm']) {
      const u = updated[build] as { changed: string[]; source: string; connection: string; ms: number };
      expect(u).toMatchObject({ changed: ['n18-off'], source: 'stream', connection: 'streaming' });
      // The child polls once a minute: a change seen this soon came through the stream.
      expect(u.ms).toBeLessThan(5_000);
    }
  });

  it('works as an OpenFeature provider (@wavegate/sdk/openfeature, CommonJS and ESM)', async () => {
    expect(await child.step('openfeature')).toMatchObject({
      boolean: { value: true, reason: 'TARGETING_MATCH' },
      string: 'blue-button',
      esmResolution: { value: true },
    });
  });

  it('sends metrics and error reports that Wavegate records', async () => {
    expect(await child.step('sent')).toMatchObject({ withFlag: 'checkout failed on node 18 (esm)' });
    // 1 evaluation at ready + 25 before the flush.
    expect(await metricsOf('n18-on', 'node18-cjs')).toEqual({ yes: 26, no: 0 });
    expect((await metricsOf('n18-on', 'node18-esm')).yes).toBeGreaterThanOrEqual(26);
    expect(await metricsOf('n18-beta', 'node18-cjs')).toEqual({ yes: 1, no: 1 });
    expect(await metricsOf('n18-beta', 'node18-openfeature')).toEqual({ yes: 1, no: 0 });
    const events = await t.http().get('/api/events?limit=1000').set(bearer(t.adminToken));
    expect(events.status).toBe(200);
    const reported = (
      events.body.items as { type: string; entityId: string; data: Record<string, unknown> }[]
    )
      .filter((e) => e.type === 'flag.error_reported' && e.entityId === 'n18-checkout')
      .map((e) => ({ appName: e.data.appName, tenantId: e.data.tenantId, count: e.data.count }));
    expect(reported).toEqual(
      expect.arrayContaining([
        { appName: 'node18-cjs', tenantId: 'acme', count: 1 },
        { appName: 'node18-esm', tenantId: 'acme', count: 1 },
        { appName: 'node18-openfeature', tenantId: 'acme', count: 1 },
      ]),
    );
  });

  it('closes cleanly: no error, no warning, and the process ends by itself with status 0', async () => {
    const closed = await child.step('closed');
    expect(closed).toMatchObject({
      statuses: {
        cjs: expect.objectContaining({ connection: 'closed' }),
        esm: expect.objectContaining({ connection: 'closed' }),
        openfeature: expect.objectContaining({ connection: 'closed' }),
      },
      evaluatesAfterClose: true,
      emitted: [],
      logged: [],
    });
    const exit = await Promise.race([
      child.exited,
      new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 5_000).unref()),
    ]);
    if (exit === 'running')
      throw new Error(
        `the Node 18 process was still running 5 s after every client was closed (something is left open):\n` +
          child.describe(),
      );
    expect(exit).toEqual({ code: 0, signal: null });
    expect(child.stderr).toBe('');
  });
});
