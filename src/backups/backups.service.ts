// Online backups of the configured database with a SHA-256 manifest (docs/decisions/0009-backups.md): making one
// (under a temporary name, renamed when complete), listing, retention and verifying. How the database is copied and
// a copy checked is in backup.copies.ts.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock';
import { decodeCursor, encodeCursor } from '../common/cursor';
import { badRequest, conflict, DomainError, notFound } from '../common/errors';
import { Mutex } from '../common/mutex';
import { TransactionRunner } from '../common/transaction';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { MetricsService } from '../health/metrics.service';
import {
  checkPgDump,
  checkSqliteCopy,
  pgDump,
  pgDumpBinary,
  sha256File,
  sqliteBackup,
} from './backup.copies';
import {
  BackupManifest,
  backupBaseName,
  backupExtension,
  BackupTrigger,
  expiredBackups,
  isBackupId,
  MANIFEST_RE,
  newestFirst,
  parseManifest,
} from './backup.manifest';

export interface BackupVerifyResult {
  ok: boolean;
  id: string;
  fileName: string;
  sha256: 'ok' | 'mismatch';
  /** SQLite: `PRAGMA integrity_check` on the backup opened read-only; PostgreSQL: `pg_restore --list`. */
  check: string;
}

const isString = (v: unknown): v is string => typeof v === 'string';

/**
 * Online backups of the configured database with a SHA-256 manifest (docs/decisions/0009-backups.md).
 * One backup at a time per process; the file is written under a temporary name and renamed when complete.
 */
@Injectable()
export class BackupsService {
  private readonly logger = new Logger(BackupsService.name);
  private readonly mutex = new Mutex();
  private readonly version = readWavegateVersion();

  constructor(
    private readonly tx: TransactionRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {}

  get dir(): string {
    return this.config.backupDir;
  }

  /** A backup asked for by a person or a token (API) or an operator (CLI): audited, with an outbox event. */
  async createAudited(trigger: Exclude<BackupTrigger, 'schedule'>, actor: string): Promise<BackupManifest> {
    const m = await this.create(trigger, actor);
    await this.tx.run(async (tx) => {
      const data = { fileName: m.fileName, sha256: m.sha256, sizeBytes: m.sizeBytes, trigger };
      tx.audit({ actor, action: 'backup.created', entityType: 'backup', entityId: m.id, data });
      tx.emit({ type: 'backup.created', entityType: 'backup', entityId: m.id, actor, data });
    });
    return m;
  }

  /** Makes one backup (waiting for one in progress in this process to finish first), then applies retention. */
  create(trigger: BackupTrigger, requestedBy: string): Promise<BackupManifest> {
    return this.mutex.runExclusive(async () => {
      try {
        const m = await this.createNow(trigger, requestedBy);
        this.metrics.backupLastSuccess.set(Date.now() / 1000);
        // The backup is made; a retention problem is logged, not reported as a failed backup.
        await this.prune().catch((e: unknown) => this.logger.warn(`retention: ${String(e)}`));
        return m;
      } catch (e) {
        this.metrics.backupFailures.inc();
        throw e;
      }
    });
  }

  private async createNow(trigger: BackupTrigger, requestedBy: string): Promise<BackupManifest> {
    const db = this.config.database;
    const started = performance.now();
    const createdAt = this.clock.now();
    const id = randomUUID();
    const base = backupBaseName(createdAt, id);
    const fileName = base + backupExtension(db.kind);
    const file = join(this.dir, fileName);
    const temp = join(this.dir, `.${fileName}.partial`);
    const manifestFile = join(this.dir, `${base}.json`);
    const manifest: BackupManifest = {
      id,
      status: 'writing',
      createdAt: createdAt.toISOString(),
      database: db.kind,
      fileName,
      sizeBytes: 0,
      sha256: '',
      schemaVersion: await this.schemaVersion(),
      wavegateVersion: this.version,
      durationMs: 0,
      trigger,
      requestedBy,
    };
    // Fails before anything is written when PostgreSQL has no pg_dump.
    const pgDumpBin = db.kind === 'postgres' ? this.pgDumpBinary() : undefined;
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await writeJsonAtomic(manifestFile, manifest);
    } catch (e) {
      throw unwritable(e);
    }
    try {
      // Created empty with mode 0600 first, so the backup is never readable by others, not even while written.
      await writeFile(temp, '', { mode: 0o600, flag: 'wx' });
      if (db.kind === 'sqlite') await sqliteBackup(db.path, temp);
      else await pgDump(pgDumpBin as string, db.url, db.schema, temp);
      await chmod(temp, 0o600);
      manifest.sha256 = await sha256File(temp);
      manifest.sizeBytes = (await stat(temp)).size;
      await rename(temp, file);
      manifest.status = 'complete';
      manifest.durationMs = Math.round(performance.now() - started);
      await writeJsonAtomic(manifestFile, manifest);
      return manifest;
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      await unlink(file).catch(() => undefined);
      await unlink(manifestFile).catch(() => undefined);
      throw e instanceof DomainError ? e : unwritable(e);
    }
  }

  /** The pg_dump to run: WAVEGATE_PG_DUMP, else `pg_dump` on PATH. */
  pgDumpBinary(): string {
    return pgDumpBinary(this.config.pgDumpPath);
  }

  private async schemaVersion(): Promise<string | null> {
    try {
      const rows = await this.tx.read((m) =>
        m.query('SELECT name FROM migrations ORDER BY "timestamp" DESC LIMIT 1'),
      );
      return (rows as Array<{ name: string }>)[0]?.name ?? null;
    } catch {
      return null; // never migrated
    }
  }

  /** Every manifest in the backup directory, newest first. */
  async manifests(dir = this.dir): Promise<BackupManifest[]> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw unwritable(e);
    }
    const out: BackupManifest[] = [];
    for (const n of names.filter((x) => MANIFEST_RE.test(x))) {
      const m = parseManifest(await readFile(join(dir, n), 'utf8').catch(() => ''));
      if (m) out.push(m);
    }
    return out.sort(newestFirst);
  }

  async list(q: {
    cursor?: string;
    limit: number;
  }): Promise<{ items: BackupManifest[]; nextCursor?: string }> {
    const after = decodeCursor(q.cursor, isString);
    const all = await this.manifests();
    const start = after === undefined ? 0 : all.findIndex((m) => m.fileName === after) + 1;
    if (after !== undefined && start === 0)
      throw badRequest('VALIDATION.BAD_CURSOR', 'cursor: that backup no longer exists', [
        { field: 'cursor', reason: 'that backup no longer exists' },
      ]);
    const page = all.slice(start, start + q.limit);
    return {
      items: page,
      nextCursor: start + q.limit < all.length ? encodeCursor(page[page.length - 1].fileName) : undefined,
    };
  }

  /** Deletes complete backups beyond WAVEGATE_BACKUP_RETAIN (file and manifest). */
  async prune(): Promise<string[]> {
    const gone: string[] = [];
    for (const m of expiredBackups(await this.manifests(), this.config.backupRetain)) {
      try {
        await unlink(join(this.dir, m.fileName)).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        });
        await unlink(join(this.dir, m.fileName.replace(/\.[a-z]+$/, '.json')));
        gone.push(m.id);
      } catch (e) {
        this.logger.warn(`retention: could not delete backup ${m.fileName}: ${String(e)}`);
      }
    }
    return gone;
  }

  /**
   * Recomputes the SHA-256 and checks the file: `PRAGMA integrity_check` on a SQLite backup opened read-only,
   * `pg_restore --list` on a PostgreSQL dump. `ref` is a backup id, or a backup file (name or path) with its
   * manifest next to it.
   */
  async verify(ref: string): Promise<BackupVerifyResult> {
    const { dir, manifest } = await this.findManifest(ref);
    const file = join(dir, manifest.fileName);
    if (!existsSync(file))
      throw notFound('BACKUP.FILE_MISSING', `backup file ${manifest.fileName} is missing`);
    const sha = (await sha256File(file)) === manifest.sha256 ? 'ok' : 'mismatch';
    const check =
      manifest.database === 'sqlite'
        ? checkSqliteCopy(file)
        : await checkPgDump(this.config.pgDumpPath, file);
    return {
      ok: sha === 'ok' && manifest.status === 'complete' && check === 'ok',
      id: manifest.id,
      fileName: manifest.fileName,
      sha256: sha,
      check,
    };
  }

  private async findManifest(ref: string): Promise<{ dir: string; manifest: BackupManifest }> {
    if (isBackupId(ref)) {
      const m = (await this.manifests()).find((x) => x.id === ref);
      if (!m) throw notFound('BACKUP.NOT_FOUND', `no backup ${ref} in ${this.dir}`);
      return { dir: this.dir, manifest: m };
    }
    const path = isAbsolute(ref) || ref.includes('/') ? resolve(ref) : join(this.dir, ref);
    const dir = dirname(path);
    const name = basename(path);
    const m = (await this.manifests(dir)).find(
      (x) => x.fileName === name || x.fileName.replace(/\.[a-z]+$/, '.json') === name,
    );
    if (!m) throw notFound('BACKUP.NOT_FOUND', `no backup manifest for ${name} in ${dir}`);
    return { dir, manifest: m };
  }
}

// An operational failure (full disk, permissions, a folder that is a file), reported with its error code but
// without the server's paths; not a 500, which would mean a bug.
function unwritable(e: unknown): DomainError {
  const err = e as NodeJS.ErrnoException;
  const why = err.code
    ? `${err.code}${err.syscall ? ` on ${err.syscall}` : ''}`
    : String(err.message).slice(0, 200);
  return conflict(
    'BACKUP.DIR_UNUSABLE',
    `backup folder unusable (${why}); check that WAVEGATE_BACKUP_DIR is a writable folder with space left`,
    [{ field: 'WAVEGATE_BACKUP_DIR', reason: why }],
  );
}

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const temp = `${file}.${randomUUID()}.tmp`;
  await writeFile(temp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  await rename(temp, file);
}

// Read at runtime: package.json is outside the compiled tree (dist/ or a test's temporary build).
function readWavegateVersion(): string {
  for (let d = __dirname, i = 0; i < 5; i++, d = dirname(d)) {
    try {
      const pkg = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'wavegate' && pkg.version) return pkg.version;
    } catch {
      // keep looking upwards
    }
  }
  return 'unknown';
}
