// `npm run demo` also drives the reference platform (examples/reference-platform, docs/providers.md): it starts the
// platform in a child process (its own SQLite file, 200 sites), registers it as the provider `refplat` through a
// change request approved by the two demo checkers, syncs the inventory from it, and leaves a `refplat.deactivate_app`
// change request for insight on every site waiting for approval, with each target's state read from the platform.
// Set the platform's fault (`curl -X PUT <platform>/_control/faults -d '{"breakAfterNthDeactivation":2}'`) before
// executing it to watch the probe halt the rollout, then roll it back.
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Call } from './demo.seed';

const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'examples', 'reference-platform', 'main.ts');

export interface DemoPlatform {
  url: string;
  controlToken: string;
  pendingCr: string;
  stop(): void;
}

async function startPlatform(
  dir: string,
  secret: string,
  controlToken: string,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', MAIN], {
    cwd: ROOT,
    env: {
      ...process.env,
      REFPLAT_SECRET: secret,
      REFPLAT_PORT: '0',
      REFPLAT_SQLITE_FILE: join(dir, 'reference-platform.sqlite'),
      REFPLAT_SEED_TENANTS: '200',
      REFPLAT_CONTROL_TOKEN: controlToken,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /reference platform on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`reference platform exited with ${code}`)));
  });
  return { url, child };
}

/** Null when the examples (and ts-node) are not there, e.g. in an installed package. */
export async function driveReferencePlatform(
  call: Call,
  tokens: { admin: string; maker: string; checkers: [string, string] },
  dir: string,
  log: (line: string) => void,
): Promise<DemoPlatform | null> {
  if (!existsSync(MAIN)) return null;
  const secret = randomBytes(24).toString('base64url');
  const controlToken = randomBytes(12).toString('base64url');
  const { url, child } = await startPlatform(dir, secret, controlToken);
  log(`reference platform on ${url} (200 sites)`);
  await call('PUT', '/api/operations/http/allowlist', { prefixes: [`${url}/wavegate/`] }, tokens.admin);
  const ep = (op: string, e: string) => `${url}/wavegate/v1/operations/${op}/${e}`;
  const proposal = await call<{ id: string; planHash: string }>(
    'POST',
    '/api/providers',
    {
      provider: {
        name: 'refplat',
        description: 'The reference platform (examples/reference-platform)',
        secret,
        inventory: { url: `${url}/wavegate/v1/inventory` },
        operations: [
          {
            name: 'deactivate_app',
            targetType: 'installation',
            risk: 'reversible',
            mode: 'deactivate',
            description: 'Deactivates the app on the site; its pages are kept and it can be reactivated.',
            endpoints: {
              state: ep('deactivate_app', 'state'),
              apply: ep('deactivate_app', 'apply'),
              undo: ep('deactivate_app', 'undo'),
              verify: `${url}/wavegate/v1/verify`,
            },
          },
          {
            name: 'mark_site_for_deletion',
            targetType: 'tenant',
            risk: 'reversible',
            mode: 'mark_for_deletion',
            description: 'Marks the site for deletion: it goes offline, nothing is deleted yet.',
            endpoints: {
              state: ep('mark_site_for_deletion', 'state'),
              apply: ep('mark_site_for_deletion', 'apply'),
              undo: ep('mark_site_for_deletion', 'undo'),
              verify: `${url}/wavegate/v1/verify`,
            },
          },
        ],
      },
      justification: 'Demo: wire Wavegate to the reference platform',
      ticket: 'DEMO-14',
    },
    tokens.admin,
  );
  for (const c of tokens.checkers)
    await call('POST', `/api/change-requests/${proposal.id}/approve`, { planHash: proposal.planHash }, c);
  await call('POST', `/api/change-requests/${proposal.id}/execute`, {}, tokens.admin);
  for (let i = 0; ; i++) {
    const p = await call<{ version: number; loadedVersion: number | null }>(
      'GET',
      '/api/providers/refplat',
      undefined,
      tokens.admin,
    ).catch(() => null);
    if (p && p.loadedVersion === p.version) break;
    if (i > 200) throw new Error('the provider was not registered');
    await new Promise((r) => setTimeout(r, 50));
  }
  log('provider refplat registered through change request (2 approvals)');
  const sync = await call<{ results: { tenants: { added: string[] } }[] }>(
    'POST',
    '/api/inventory/sync',
    { provider: 'refplat' },
    tokens.admin,
  );
  log(`inventory synced from the platform: ${sync.results[0]?.tenants.added.length ?? 0} sites added`);
  const sites = Array.from({ length: 200 }, (_, i) => `site-${String(i + 1).padStart(4, '0')}`);
  const cr = await call<{ id: string }>(
    'POST',
    '/api/change-requests',
    {
      title: 'Retire insight on every site (reference platform)',
      operation: 'refplat.deactivate_app',
      targets: sites.map((s) => ({ type: 'installation', id: `${s}/insight` })),
      waves: { bakeSeconds: 5 },
      justification: 'Insight is end-of-life; the platform is read for every target in the plan',
      ticket: 'DEMO-2',
    },
    tokens.maker,
  );
  await call('POST', `/api/change-requests/${cr.id}/submit`, {}, tokens.maker);
  log('change request refplat.deactivate_app (200 installations) waiting for approval');
  return { url, controlToken, pendingCr: cr.id, stop: () => child.kill() };
}
