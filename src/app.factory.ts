import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { json, raw, text } from 'body-parser';
import cookieParser from 'cookie-parser';
import type { NextFunction, Request, Response } from 'express';
import { Logger } from 'nestjs-pino';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AppModule, AppOptions } from './app.module';
import { mountClientApiFastPath } from './client-api/client-features.fast-path';
import { dutyKey, plainPgUrl } from './common/replica-duties';
import { createValidationPipe } from './common/validation';
import { APP_CONFIG } from './config/config.module';
import { AppConfig } from './config/config.schema';
import { MetricsService } from './health/metrics.service';
import { UsersService } from './users/users.service';

export const BODY_LIMIT = '1mb';
export const IMPORT_BODY_LIMIT = '16mb';

// `__proto__` in a JSON body is never legitimate input and slips past DTO whitelisting; refuse it as malformed.
function refusePrototypeKeys(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new SyntaxError('the key "__proto__" is not allowed');
  return value;
}

/** Builds the configured application (used by `serve` and by the e2e tests); does not listen. */
export async function createApp(
  config: AppConfig,
  options: AppOptions = {},
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, options), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  if (options.shutdownHooks !== false) app.enableShutdownHooks();
  // GET /api/client/features, polled by every SDK, is answered ahead of the Nest pipeline (docs/decisions/0004).
  mountClientApiFastPath(app);
  // Explicit body parsers so the 1 MiB limit and the JSON-only policy are visible here.
  // Bulk tenant imports (10,000 tenants with their installations) are the one body allowed past 1 MiB.
  app.use('/api/tenants', json({ limit: IMPORT_BODY_LIMIT, strict: false, reviver: refusePrototypeKeys }));
  app.use('/api/tenants', text({ limit: IMPORT_BODY_LIMIT, type: ['text/csv', 'text/plain'] }));
  // Slack signs the raw bytes of its form-encoded requests: they stay a Buffer, whatever their content type, until
  // the signature is checked (src/slack/slack-request.verifier.ts).
  app.use(['/api/slack/commands', '/api/slack/interactions'], raw({ type: () => true, limit: BODY_LIMIT }));
  app.useBodyParser('json', { limit: BODY_LIMIT, strict: false, reviver: refusePrototypeKeys });
  app.useBodyParser('text', { limit: BODY_LIMIT, type: ['text/csv', 'text/plain'] });
  app.use(cookieParser());

  const metrics = app.get(MetricsService);
  app.use((req: Request, res: Response, next: NextFunction) => {
    const end = metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  });
  app.useGlobalPipes(createValidationPipe());

  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Wavegate')
      .setDescription(
        'Maker-checker change requests, cohort-wave rollouts with automatic halt, feature flags',
      )
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('api/docs', app, doc, { jsonDocumentUrl: 'api/docs-json' });
  return app;
}

/** Applies pending migrations (idempotent; safe to run on every boot and from several replicas in turn). */
/**
 * Applies pending migrations. On PostgreSQL, replicas that boot at once (a rolling upgrade, a scaled-out deployment)
 * take turns under a session-level advisory lock per schema, held on a connection of its own: the first applies what
 * is pending, the others then find nothing to do (TypeORM itself does not lock, and two runs of one migration make
 * the second replica fail at boot).
 */
export async function runMigrations(app: NestExpressApplication): Promise<string[]> {
  const ds = app.get(DataSource);
  const config = app.get<AppConfig>(APP_CONFIG);
  if (config.database.kind !== 'postgres') {
    const done = await ds.runMigrations({ transaction: 'each' });
    return done.map((m) => m.name);
  }
  const lock = new Client({
    connectionString: plainPgUrl(config.database),
    application_name: 'wavegate-migrate',
  });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1, $2)', [
      MIGRATION_LOCK_CLASS,
      dutyKey(config.database, 'migrations'),
    ]);
    const done = await ds.runMigrations({ transaction: 'each' });
    return done.map((m) => m.name);
  } finally {
    // Ending the session releases the lock, also when a migration failed.
    await lock.end().catch(() => undefined);
  }
}

// First key of the advisory lock under which one replica at a time applies migrations (arbitrary constant).
const MIGRATION_LOCK_CLASS = 774_300_120;

/**
 * On an empty database, creates the first admin: from WAVEGATE_ADMIN_EMAIL/PASSWORD when set, otherwise
 * admin@wavegate.local with a random password that is printed once (embedded quick start).
 */
export async function bootstrapAdmin(
  app: NestExpressApplication,
  config: AppConfig,
): Promise<{ email: string; password?: string } | null> {
  const users = app.get(UsersService);
  if ((await users.count()) > 0) return null;
  const email = config.adminEmail ?? 'admin@wavegate.local';
  const generated = config.adminPassword ? undefined : randomBytes(12).toString('base64url');
  try {
    await users.create('system', {
      email,
      name: 'Administrator',
      password: config.adminPassword ?? (generated as string),
      roles: ['admin', 'maker', 'checker', 'viewer'],
    });
  } catch (e) {
    // Another replica created it first.
    new NestLogger('Bootstrap').warn(`first admin not created: ${String(e)}`);
    return null;
  }
  return { email, password: generated };
}
