// How a backup copies the database, and how a copy is checked: SQLite's one-step backup in a worker thread, pg_dump
// (custom format) and pg_restore --list, the SHA-256 of a file. BackupsService (manifests, retention, the API) calls
// these; they know nothing of manifests.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, createReadStream, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { conflict, notImplemented } from '../common/errors';

const run = promisify(execFile);

// Run in a worker thread by sqliteBackup (plain CommonJS: it is evaluated as is, also under ts-jest). The copy keeps
// the WAL flag; switching it to a rollback journal makes it one self-contained file that opens read-only anywhere.
const SQLITE_BACKUP_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
(async () => {
  const src = new Database(workerData.path, { readonly: true, fileMustExist: true });
  try {
    await src.backup(workerData.dest, { progress: () => 0x7fffffff });
  } finally {
    src.close();
  }
  const out = new Database(workerData.dest);
  try {
    out.pragma('journal_mode = DELETE');
  } finally {
    out.close();
  }
})().then(
  () => parentPort.postMessage({ ok: true }),
  (e) => parentPort.postMessage({ ok: false, error: String((e && e.message) || e) }),
);
`;
const PG_DUMP_TIMEOUT_MS = 3_600_000;

// A separate read-only connection copies every page in one backup step, i.e. inside one read transaction: a
// consistent snapshot of what was committed when it began. In WAL mode it neither blocks the service's writes
// nor is restarted by them (a multi-step copy from another connection would restart on every write). The copy
// runs in a worker thread: one step is synchronous, and on the service's thread it would stall every request
// for as long as the copy takes.
export async function sqliteBackup(path: string, dest: string): Promise<void> {
  if (path === ':memory:')
    throw notImplemented('BACKUP.IN_MEMORY', 'an in-memory SQLite database cannot be backed up');
  await new Promise<void>((resolvePromise, reject) => {
    const worker = new Worker(SQLITE_BACKUP_WORKER, {
      eval: true,
      workerData: { module: require.resolve('better-sqlite3'), path, dest },
    });
    let done = false;
    worker.once('message', (m: { ok: boolean; error?: string }) => {
      done = true;
      if (m.ok) resolvePromise();
      else reject(new Error(m.error ?? 'SQLite backup failed'));
    });
    worker.once('error', (e) => {
      done = true;
      reject(e);
    });
    worker.once('exit', (code) => {
      if (!done) reject(new Error(`SQLite backup worker exited with code ${code}`));
    });
  });
}

/** The pg_dump to run: WAVEGATE_PG_DUMP, else `pg_dump` on PATH. */
export function pgDumpBinary(configured: string | undefined): string {
  const bin = configured ?? findOnPath('pg_dump');
  if (bin && isExecutable(bin)) return bin;
  const reason = configured
    ? `WAVEGATE_PG_DUMP (${configured}) is not an executable file`
    : 'no pg_dump on PATH';
  throw notImplemented(
    'BACKUP.PG_DUMP_NOT_FOUND',
    `PostgreSQL backups need pg_dump: ${reason}; install the PostgreSQL client tools (the same major version ` +
      'as the server or newer) or set WAVEGATE_PG_DUMP',
    [{ field: 'WAVEGATE_PG_DUMP', reason }],
  );
}

export async function pgDump(
  bin: string,
  url: string,
  schema: string | undefined,
  dest: string,
): Promise<void> {
  // The password goes through the environment, not argv (visible in `ps`); `schema` is Wavegate's, not libpq's.
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  u.searchParams.delete('schema');
  const args = [
    '--format=custom',
    '--file',
    dest,
    ...(schema ? ['--schema', schema] : []),
    '--dbname',
    u.toString(),
  ];
  try {
    await run(bin, args, {
      env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) },
      timeout: PG_DUMP_TIMEOUT_MS,
      maxBuffer: 4 * 1024 * 1024,
    });
  } catch (e) {
    const stderr = String((e as { stderr?: unknown }).stderr ?? '').trim();
    const why = (stderr || (e as Error).message).split('\n')[0].slice(0, 300);
    throw conflict('BACKUP.PG_DUMP_FAILED', `pg_dump failed: ${why}`);
  }
}

/** `PRAGMA integrity_check` of a SQLite backup opened read-only: `ok`, the problems found, or `error: …`. */
export function checkSqliteCopy(file: string): string {
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
      return rows.map((r) => r.integrity_check).join('; ');
    } finally {
      db.close();
    }
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

/** `pg_restore --list` of a dump (pg_restore beside WAVEGATE_PG_DUMP, else on PATH): `ok`, or why not. */
export async function checkPgDump(pgDumpPath: string | undefined, file: string): Promise<string> {
  const restore = pgDumpPath ? join(dirname(pgDumpPath), 'pg_restore') : findOnPath('pg_restore');
  if (!restore || !isExecutable(restore)) return 'not checked: no pg_restore';
  return run(restore, ['--list', file], { maxBuffer: 64 * 1024 * 1024 }).then(
    () => 'ok',
    (e: { stderr?: string; message: string }) => `error: ${(e.stderr || e.message).split('\n')[0]}`,
  );
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('error', reject)
      .on('data', (c) => h.update(c))
      .on('end', () => resolvePromise(h.digest('hex')));
  });
}

function findOnPath(name: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (d && isExecutable(join(d, name))) return join(d, name);
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
