import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Client } from 'pg';
import request from 'supertest';
import { bootstrapAdmin, createApp, runMigrations } from '../../src/app.factory';
import { AppOptions } from '../../src/app.module';
import { Role } from '../../src/common/principal';
import { AppConfig, loadConfig } from '../../src/config/config.schema';

export const ADMIN_EMAIL = 'admin@test.local';
export const ADMIN_PASSWORD = 'admin-password-123';

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  /** supertest bound to the app's HTTP server */
  http: () => ReturnType<typeof request>;
  adminToken: string;
  /** Creates a user with the roles and returns a login token for it. */
  userToken(roles: Role[], email?: string): Promise<{ token: string; id: string; email: string }>;
  /** Where this app's data lives; pass it to `startTestApp({ database })` to boot a second app on the same data. */
  database: TestDatabase;
  /** `keepDatabase`: leave the SQLite file / PostgreSQL schema for a restarted app (the last one drops it). */
  close(options?: { keepDatabase?: boolean }): Promise<void>;
}

/** A test database that survives `close({ keepDatabase: true })`, to restart the service on the same data. */
export interface TestDatabase {
  dir: string;
  databaseUrl: string;
  /** The PostgreSQL schema, when on PostgreSQL. */
  schema?: string;
}

/** Which database the e2e suite runs on: a fresh SQLite file, or a fresh schema of TEST_DATABASE_URL. */
export const onPostgres = (): boolean => Boolean(process.env.TEST_DATABASE_URL);

/**
 * Boots the real application on a fresh database. Passport strategies are registered process-wide, so a test file
 * runs one application at a time (close one before starting the next).
 * Boots the real application on a fresh database: a new SQLite file per call, or, when TEST_DATABASE_URL is set,
 * a new PostgreSQL schema that is dropped on close.
 */
export async function startTestApp(
  options: AppOptions & { env?: NodeJS.ProcessEnv; database?: TestDatabase } = {},
): Promise<TestApp> {
  const dir = options.database?.dir ?? mkdtempSync(join(tmpdir(), 'wavegate-e2e-'));
  let databaseUrl = options.database?.databaseUrl ?? `sqlite:${join(dir, 'wavegate.sqlite')}`;
  let dropSchema: (() => Promise<void>) | undefined;
  let schema: string | undefined = options.database?.schema;
  const pgUrl = process.env.TEST_DATABASE_URL;
  if (pgUrl) {
    const reuse = schema !== undefined;
    schema = schema ?? `wg_test_${randomBytes(6).toString('hex')}`;
    if (!reuse) {
      const client = new Client({ connectionString: pgUrl });
      await client.connect();
      await client.query(`CREATE SCHEMA ${schema}`);
      await client.end();
    }
    const u = new URL(pgUrl);
    u.searchParams.set('schema', schema);
    databaseUrl = u.toString();
    dropSchema = async () => {
      const c = new Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    };
  }
  const config = loadConfig(
    {
      DATABASE_URL: databaseUrl,
      WAVEGATE_SECRET: 'test-secret-0123456789-0123456789-abcdef',
      WAVEGATE_ADMIN_EMAIL: ADMIN_EMAIL,
      WAVEGATE_ADMIN_PASSWORD: ADMIN_PASSWORD,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      WAVEGATE_LOGIN_RATE_LIMIT: '1000',
      // Scheduled backups stay off unless a test turns them on (test/backups.e2e-spec.ts).
      WAVEGATE_BACKUP_INTERVAL_SECONDS: '0',
      WAVEGATE_INVENTORY_SYNC_INTERVAL_SECONDS: '0',
      // So is the continuous archive (test/archive.e2e-spec.ts turns it on or steps it by hand).
      WAVEGATE_ARCHIVE_INTERVAL_SECONDS: '0',
      ...options.env,
    },
    dir,
  );
  const app = await createApp(config, options);
  await runMigrations(app);
  await bootstrapAdmin(app, config);
  await app.init();
  const server = app.getHttpServer();
  const http = () => request(server);

  const login = async (email: string, password: string): Promise<string> => {
    const res = await http().post('/api/auth/login').send({ email, password });
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
    return (res.body as { accessToken: string }).accessToken;
  };
  const adminToken = await login(ADMIN_EMAIL, ADMIN_PASSWORD);
  let n = 0;
  return {
    app,
    config,
    http,
    adminToken,
    async userToken(roles, email) {
      const e = email ?? `${roles.join('-') || 'none'}-${++n}-${randomBytes(3).toString('hex')}@test.local`;
      const password = 'user-password-123';
      const res = await http()
        .post('/api/users')
        .set('Authorization', `Bearer ${adminToken}`)
        .send({ email: e, name: e.split('@')[0], password, roles });
      if (res.status !== 201)
        throw new Error(`user create failed: ${res.status} ${JSON.stringify(res.body)}`);
      return { token: await login(e, password), id: (res.body as { id: string }).id, email: e };
    },
    database: { dir, databaseUrl, schema },
    async close(closeOptions) {
      await app.close();
      if (closeOptions?.keepDatabase) return;
      if (dropSchema) await dropSchema();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
