#!/usr/bin/env node
import { Command, Option } from 'commander';
import { createApp, runMigrations } from './app.factory';
import { AuditService } from './audit/audit.service';
import { BackupsService } from './backups/backups.service';
import { ArchiveReport } from './archive/archive.formats';
import { ArchiveService } from './archive/archive.service';
import { ChangesService } from './archive/changes.service';
import { MIN_PASSWORD_LENGTH } from './auth/password.hasher';
import { Role, ROLES } from './common/principal';
import { ConfigError, loadConfig } from './config/config.schema';
import { serve } from './main';
import { UsersService } from './users/users.service';

// Operator commands run the same application module as the server (without listening), quietly.
async function withApp<T>(fn: (app: Awaited<ReturnType<typeof createApp>>) => Promise<T>): Promise<T> {
  let config;
  try {
    config = { ...loadConfig(), logLevel: 'warn' as const };
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  // Not initialised: lifecycle hooks (dispatchers, sweeps) must not start before `migrate` has run.
  const app = await createApp(config);
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const program = new Command('wavegate').description('Wavegate: safe changes to a multi-tenant SaaS');

program
  .command('serve', { isDefault: true })
  .description('run the service (applies pending migrations first)')
  .action(() => serve());

program
  .command('migrate')
  .description('apply pending database migrations')
  .action(() =>
    withApp(async (app) => {
      const done = await runMigrations(app);
      process.stdout.write(done.length ? `applied: ${done.join(', ')}\n` : 'no pending migrations\n');
    }),
  );

const user = program.command('user').description('manage users');
user
  .command('create')
  .description('create a user; the password is read from standard input')
  .requiredOption('--email <email>')
  .requiredOption('--name <name>')
  .addOption(new Option('--roles <roles>', `comma-separated: ${ROLES.join(', ')}`).default('viewer'))
  .action((opts: { email: string; name: string; roles: string }) =>
    withApp(async (app) => {
      const roles = opts.roles.split(',').map((r) => r.trim()) as Role[];
      const bad = roles.filter((r) => !ROLES.includes(r));
      if (bad.length) throw new Error(`--roles: unknown role(s) ${bad.join(', ')}`);
      const password = await readStdin();
      if (password.length < MIN_PASSWORD_LENGTH)
        throw new Error(`password: at least ${MIN_PASSWORD_LENGTH} characters`);
      await runMigrations(app);
      const u = await app
        .get(UsersService)
        .create('cli', { email: opts.email, name: opts.name, password, roles });
      process.stdout.write(`created ${u.email} (${u.id}) with roles ${u.roles.join(', ')}\n`);
    }),
  );

const audit = program.command('audit').description('the audit log');
audit
  .command('verify')
  .description('verify the hash chain; exits 1 when it is broken')
  .action(() =>
    withApp(async (app) => {
      const r = await app.get(AuditService).verify();
      process.stdout.write(JSON.stringify(r) + '\n');
      if (!r.ok) process.exitCode = 1;
    }),
  );

// Exit codes of `backup verify` / `backup repair`: 0 sound (or everything repaired), 1 damage that `backup repair`
// can fix, 3 damage beyond the parity's capacity, a missing file or a gap (docs/decisions/0014-continuous-archive.md).
function printArchiveReport(r: ArchiveReport, json: boolean, repairing: boolean): number {
  if (json) process.stdout.write(JSON.stringify(r) + '\n');
  let worst = 0;
  for (const f of r.files) {
    if (f.status === 'ok') continue;
    const blocks = (label: string, b: number[]) =>
      b.length ? ` ${label} ${b.join(', ')} (${f.shardSize}-byte blocks from byte 0)` : '';
    const what =
      blocks('damaged blocks', f.damagedBlocks) +
      blocks('damaged parity blocks', f.damagedParityBlocks) +
      blocks('beyond repair: blocks', f.unrepairableBlocks);
    const verdict =
      f.status === 'damaged'
        ? 'repairable: run `wavegate backup repair`'
        : f.status === 'repaired'
          ? 'repaired'
          : `NOT repairable${f.reason ? `: ${f.reason}` : ''}`;
    if (!json) process.stdout.write(`${f.status.toUpperCase()} ${f.kind} ${f.file}:${what} — ${verdict}\n`);
    worst = Math.max(worst, f.status === 'damaged' ? 1 : f.status === 'repaired' ? 0 : 3);
  }
  for (const c of r.chain) {
    if (!json) process.stdout.write(`CHAIN ${c.file ?? ''} (entry ${c.seq ?? '-'}): ${c.reason}\n`);
    worst = 3;
  }
  if (!json)
    process.stdout.write(
      worst === 0
        ? repairing
          ? 'archive sound (everything damaged was repaired)\n'
          : 'archive sound\n'
        : worst === 1
          ? "archive damaged within the parity's capacity\n"
          : 'archive damaged BEYOND what parity can repair (see above); restores needing these files are refused\n',
    );
  return worst;
}

const backup = program
  .command('backup')
  .description('back up the configured database now and print its manifest; or check a backup with --verify')
  .option(
    '--verify <ref>',
    'a backup id, or a backup file with its manifest next to it: recompute the SHA-256 and check the file',
  )
  .action((opts: { verify?: string }) =>
    withApp(async (app) => {
      const backups = app.get(BackupsService);
      if (opts.verify !== undefined) {
        const r = await backups.verify(opts.verify);
        process.stdout.write(JSON.stringify(r) + '\n');
        if (!r.ok) process.exitCode = 1;
        return;
      }
      const m = await backups.createAudited('cli', 'cli');
      process.stdout.write(JSON.stringify(m, null, 2) + '\n');
    }),
  );
backup
  .command('verify')
  .description(
    'check every archive file (SHA-256 and Reed-Solomon blocks) and the manifest chain; names each damaged file and block',
  )
  .option('--json', 'print the report as JSON')
  .action((opts: { json?: boolean }) =>
    withApp(async (app) => {
      process.exitCode = printArchiveReport(
        await app.get(ArchiveService).verify(),
        Boolean(opts.json),
        false,
      );
    }),
  );
backup
  .command('repair')
  .description('rewrite the archive files parity can repair; says which damage exceeds it (exit 3)')
  .option('--json', 'print the report as JSON')
  .action((opts: { json?: boolean }) =>
    withApp(async (app) => {
      const r = await app.get(ArchiveService).verify({ repair: true });
      process.exitCode = printArchiveReport(r, Boolean(opts.json), true);
    }),
  );

program
  .command('changes')
  .description(
    'print captured row changes of tenant-scoped tables after a position, as JSON {items, nextCursor}',
  )
  .option('--after <position>', "the position to read after (the previous page's nextCursor)", '0')
  .option('--limit <n>', 'at most this many changes (1-1000)', '100')
  .action((opts: { after: string; limit: string }) =>
    withApp(async (app) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new Error('--limit: expected an integer between 1 and 1000');
      const page = await app.get(ChangesService).page(opts.after, limit);
      process.stdout.write(JSON.stringify(page) + '\n');
    }),
  );

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
