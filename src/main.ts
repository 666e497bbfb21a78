import { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { bootstrapAdmin, createApp, runMigrations } from './app.factory';
import { ReplicaLifecycle } from './common/replica-lifecycle';
import { AppConfig, ConfigError, loadConfig } from './config/config.schema';

/** A replica exits within this long after SIGTERM, whatever is still in flight. */
export const SHUTDOWN_DEADLINE_MS = 10_000;

/**
 * Graceful shutdown (docs/operations.md, "Rolling restarts"): on SIGTERM or SIGINT, readiness turns 503 and the
 * engine takes no new step (ReplicaLifecycle); for WAVEGATE_SHUTDOWN_GRACE_MS the replica still answers, so the load
 * balancer moves away; then `app.close()` ends the event streams with a retry hint, lets webhook sends in flight
 * finish, releases the engine's leases and the duty locks, and closes the database. A watchdog exits the process
 * SHUTDOWN_DEADLINE_MS after the signal in any case.
 */
function handleSignals(app: NestExpressApplication, config: AppConfig): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    const started = Date.now();
    const watchdog = setTimeout(() => {
      process.stderr.write(`shutdown took over ${SHUTDOWN_DEADLINE_MS} ms; exiting now\n`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    watchdog.unref();
    app.get(ReplicaLifecycle).beginDrain();
    void (async () => {
      try {
        await sleep(Math.min(config.shutdownGraceMs, SHUTDOWN_DEADLINE_MS / 2));
        await app.close();
        process.stdout.write(`  ${signal}: stopped in ${Date.now() - started} ms\n`);
        process.exit(0);
      } catch (e) {
        process.stderr.write(`shutdown failed: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
      }
    })();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

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
  const app = await createApp(config, { shutdownHooks: false });
  handleSignals(app, config);
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
