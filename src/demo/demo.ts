// `npm run demo`: Wavegate on a fresh embedded database, seeded for a first look (see demo.seed.ts), on
// http://127.0.0.1:3000/ui (PORT and HOST as for `serve`). Each run starts from a new database in a temporary folder.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddressInfo } from 'node:net';
import { bootstrapAdmin, createApp, runMigrations } from '../app.factory';
import { ConfigError, loadConfig } from '../config/config.schema';
import { driveReferencePlatform } from './demo.platform';
import { Call, seedDemo } from './demo.seed';

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wavegate-demo-'));
  const adminEmail = 'admin@wavegate.demo';
  const adminPassword = randomBytes(12).toString('base64url');
  let config;
  try {
    config = loadConfig(
      {
        ...process.env,
        DATABASE_URL: `sqlite:${join(dir, 'wavegate.sqlite')}`,
        WAVEGATE_SECRET: process.env.WAVEGATE_SECRET ?? randomBytes(32).toString('hex'),
        WAVEGATE_ADMIN_EMAIL: adminEmail,
        WAVEGATE_ADMIN_PASSWORD: adminPassword,
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      },
      dir,
    );
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const app = await createApp(config);
  await runMigrations(app);
  await bootstrapAdmin(app, config);
  await app.listen(config.port, config.host);
  const addr = app.getHttpServer().address() as AddressInfo;
  const url = `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;

  const call: Call = async <T>(method: string, path: string, body?: unknown, token?: string): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const admin = await call<{ accessToken: string }>('POST', '/api/auth/login', {
    email: adminEmail,
    password: adminPassword,
  });
  process.stdout.write('Seeding the demo…\n');
  const seed = await seedDemo(call, admin.accessToken, (l) => process.stdout.write(`  ${l}\n`));

  const login = async (email: string, password: string) =>
    (await call<{ accessToken: string }>('POST', '/api/auth/login', { email, password })).accessToken;
  const byRole = (role: string) => seed.users.filter((u) => u.role === role);
  const platform = await driveReferencePlatform(
    call,
    {
      admin: admin.accessToken,
      maker: await login(byRole('maker')[0].email, byRole('maker')[0].password),
      checkers: [
        await login(byRole('checker')[0].email, byRole('checker')[0].password),
        await login(byRole('checker')[1].email, byRole('checker')[1].password),
      ],
    },
    dir,
    (l) => process.stdout.write(`  ${l}\n`),
  );
  if (platform) process.once('exit', () => platform.stop());

  const rows = [{ role: 'admin', email: adminEmail, password: adminPassword }, ...seed.users];
  process.stdout.write(
    [
      '',
      `  Wavegate demo is running at ${url}/ui/`,
      `  API docs: ${url}/api/docs    database: ${config.database.kind === 'sqlite' ? config.database.path : 'PostgreSQL'}`,
      '',
      '  Sign in as (passwords are new on every run):',
      ...rows.map((u) => `    ${u.role.padEnd(8)} ${u.email.padEnd(26)} ${u.password}`),
      '',
      `  ${seed.tenants} tenants, ${seed.flags} flags; change request waiting for approval: ${url}/ui/change-requests/${seed.pendingCr}`,
      seed.completedCr ? `  completed change request: ${url}/ui/change-requests/${seed.completedCr}` : '',
      platform
        ? `  reference platform: ${platform.url} (control token ${platform.controlToken}); its change request: ` +
          `${url}/ui/change-requests/${platform.pendingCr}\n` +
          `  to see a probe halt it: curl -X PUT -H 'x-control-token: ${platform.controlToken}' ` +
          `-H 'content-type: application/json' -d '{"breakAfterNthDeactivation":2}' ${platform.url}/_control/faults`
        : '',
      '  Sign in as the checker to review and approve; Ctrl-C stops the demo.',
      '',
    ].join('\n') + '\n',
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
