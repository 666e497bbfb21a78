// Starts the reference platform (examples/reference-platform) for a test on the database of the pass it runs in:
// a schema of TEST_DATABASE_URL on the PostgreSQL pass, a SQLite file otherwise.
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropPlatformSchema, openPlatformDb } from '../../examples/reference-platform/platform.db';
import { ReferencePlatform } from '../../examples/reference-platform/platform';

export const PLATFORM_SECRET = 'refplat-shared-secret-0123456789';

export interface RunningPlatform {
  platform: ReferencePlatform;
  url: string;
  /** On the PostgreSQL pass: the schema of TEST_DATABASE_URL that holds the platform's tables. */
  schema?: string;
  stop(): Promise<void>;
}

export async function startReferencePlatform(
  secret = PLATFORM_SECRET,
  now?: () => Date,
): Promise<RunningPlatform> {
  const pgUrl = process.env.TEST_DATABASE_URL;
  const dir = mkdtempSync(join(tmpdir(), 'refplat-'));
  const schema = `refplat_${randomBytes(5).toString('hex')}`;
  const db = await openPlatformDb(
    pgUrl ? { postgresUrl: pgUrl, schema } : { sqliteFile: join(dir, 'platform.sqlite') },
  );
  const platform = new ReferencePlatform({ db, secret, ...(now ? { now } : {}) });
  const url = await platform.listen();
  return {
    platform,
    url,
    ...(pgUrl ? { schema } : {}),
    async stop() {
      await platform.close();
      if (pgUrl) await dropPlatformSchema(pgUrl, schema);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Signs a body as Wavegate does (`X-Wavegate-Signature: t=<unix>,v1=<hex HMAC-SHA256("<t>.<body>")>`). */
export function signBody(secret: string, body: string, at = Date.now()): string {
  const t = Math.floor(at / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}
