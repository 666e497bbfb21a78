// Runs the reference platform on its own: `npx ts-node examples/reference-platform/main.ts`.
//   REFPLAT_PORT (4100), REFPLAT_HOST (127.0.0.1), REFPLAT_SECRET (required: the provider's shared secret),
//   REFPLAT_DATABASE_URL (postgres://…; else REFPLAT_SQLITE_FILE, default ./reference-platform.sqlite),
//   REFPLAT_SCHEMA (reference_platform), REFPLAT_SEED_TENANTS (seed this many sites into an empty database),
//   REFPLAT_CONTROL_TOKEN (required header x-control-token on /_control/*).
import { openPlatformDb } from './platform.db';
import { ReferencePlatform } from './platform';

async function main(): Promise<void> {
  const secret = process.env.REFPLAT_SECRET;
  if (!secret || secret.length < 16) throw new Error('REFPLAT_SECRET: required, at least 16 characters');
  const db = await openPlatformDb({
    postgresUrl: process.env.REFPLAT_DATABASE_URL,
    schema: process.env.REFPLAT_SCHEMA,
    sqliteFile: process.env.REFPLAT_SQLITE_FILE ?? 'reference-platform.sqlite',
  });
  const platform = new ReferencePlatform({ db, secret, controlToken: process.env.REFPLAT_CONTROL_TOKEN });
  const seed = Number(process.env.REFPLAT_SEED_TENANTS ?? 0);
  const [{ n }] = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM sites');
  if (seed > 0 && Number(n) === 0) await platform.seed({ tenants: seed });
  const url = await platform.listen(
    Number(process.env.REFPLAT_PORT ?? 4100),
    process.env.REFPLAT_HOST ?? '127.0.0.1',
  );
  process.stdout.write(`reference platform on ${url} (${db.kind})\n`);
  const stop = () => void platform.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
