import { AddressInfo } from 'node:net';
import { bootstrapAdmin, createApp, runMigrations } from './app.factory';
import { ConfigError, loadConfig } from './config/config.schema';

/** `wavegate serve`: migrate, create the first admin if the database is empty, listen. */
export async function serve(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const app = await createApp(config);
  await runMigrations(app);
  const admin = await bootstrapAdmin(app, config);
  await app.listen(config.port, config.host);
  const addr = app.getHttpServer().address() as AddressInfo;
  const url = `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
  const lines = [
    '',
    `  Wavegate is running at ${url}`,
    `  API docs:  ${url}/api/docs     database: ${config.database.kind === 'sqlite' ? config.database.path : 'PostgreSQL'}`,
  ];
  if (admin) {
    lines.push(
      admin.password
        ? `  First admin created: ${admin.email} / ${admin.password}  (shown once; change it or create your own users)`
        : `  First admin created: ${admin.email} (password from WAVEGATE_ADMIN_PASSWORD)`,
    );
  }
  lines.push(
    `  Sign in:   curl -X POST ${url}/api/auth/login -H 'content-type: application/json' -d '{"email":"...","password":"..."}'`,
    '',
  );
  process.stdout.write(lines.join('\n') + '\n');
}
