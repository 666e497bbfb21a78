import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import BetterSqlite3 from 'better-sqlite3';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { Mutex } from '../common/mutex';
import { TransactionRunner } from '../common/transaction';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { writeOnce } from './archive.files';
import { ArchiveFolder } from './archive.folder';
import { ArchiveReport, BaseFile, sealBase, sealChange, SegmentFile } from './archive.formats';
import { appendEntry, ArchiveEntry, ArchiveManifest, expiredEntries } from './archive.manifest';
import { dbNow, emQuery, Query, tenantTables } from './archive.sql';
import { VERIFY_FILE, verifyFolder } from './archive.verify';
import { CHANGE_COLUMNS, isoTime, RowChange, RowChangeRecord, toRowChange } from './capture.store';
import { safeBound } from './changes.service';
import { TenantKeyring } from './tenant-keys';

const SEGMENT_MAX_CHANGES = 20_000;

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace('.', '');
const pad = (n: number) => String(n).padStart(15, '0');

/** Tenant id -> its key (null: destroyed by a purge). */
type Keys = Map<string, Buffer | null>;

/**
 * The continuous archive (docs/decisions/0014-continuous-archive.md): captured changes shipped as sealed, append-only
 * segment files, logical bases of the tenant-scoped tables, every file with Reed-Solomon parity, listed in a
 * hash-chained manifest; retention; verify and repair. The folder's file I/O is ArchiveFolder's (archive.folder.ts),
 * the formats are in archive.formats.ts, the base's SQL in archive.sql.ts, verification in archive.verify.ts.
 */
@Injectable()
export class ArchiveService implements OnApplicationShutdown {
  private readonly logger = new Logger(ArchiveService.name);
  readonly mutex = new Mutex();
  private readonly keyring: TenantKeyring;
  private readonly folder: ArchiveFolder;
  /** The last full verification (what GET /api/backups reports). */
  lastReport?: ArchiveReport;

  constructor(
    private readonly tx: TransactionRunner,
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {
    this.keyring = new TenantKeyring(config.secret);
    this.folder = new ArchiveFolder(config.archiveDir);
  }

  get dir(): string {
    return this.config.archiveDir;
  }

  private sqliteReader?: BetterSqlite3.Database;
  private lastCapturePrune = 0;

  /**
   * Reads of committed rows for shipping. On SQLite, the service's one connection is shared by every use case
   * behind a mutex, so under the engine's full write load a read there waits its turn for seconds; a separate
   * read-only connection (WAL: readers do not wait for the writer) sees exactly what is committed, which is what
   * a segment may hold. On PostgreSQL, a pooled connection and the feed's safe bound.
   */
  private async committedReads<T>(
    work: (q: {
      all: (sql: string, params: unknown[]) => Promise<unknown[]>;
      bound: () => Promise<number>;
    }) => Promise<T>,
  ): Promise<T> {
    const db = this.config.database;
    if (db.kind === 'sqlite' && db.path !== ':memory:') {
      this.sqliteReader ??= new BetterSqlite3(db.path, { readonly: true, fileMustExist: true });
      const conn = this.sqliteReader;
      // One read transaction: every statement sees the same committed state.
      conn.prepare('BEGIN').run();
      try {
        return await work({
          all: (sql, params) => Promise.resolve(conn.prepare(sql).all(...params)),
          bound: () => Promise.resolve(Number.MAX_SAFE_INTEGER),
        });
      } finally {
        conn.prepare('COMMIT').run();
      }
    }
    return this.tx.read((em) => work({ ...emQuery(em), bound: () => safeBound(em) }));
  }

  /** Stored keys of these tenants, unwrapped (null: destroyed by a purge); tenants without a key are absent. */
  private async storedKeys(q: Query, pg: boolean, ids: string[]): Promise<Keys> {
    const keys: Keys = new Map();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const marks = chunk.map((_, j) => (pg ? `$${j + 1}` : '?')).join(', ');
      const found = (await q.all(
        `SELECT tenant_id, wrapped_key FROM tenant_keys WHERE tenant_id IN (${marks})`,
        chunk,
      )) as Array<{ tenant_id: string; wrapped_key: string | null }>;
      for (const k of found) keys.set(k.tenant_id, this.keyring.unwrap(k.tenant_id, k.wrapped_key));
    }
    return keys;
  }

  /** Creates the keys of these tenants, which have none yet, into `keys` (a write, so only when needed). */
  private async createKeys(keys: Keys, missing: string[]): Promise<void> {
    if (missing.length > 0)
      for (const [id, k] of await this.tx.run((t) => this.keyring.keysFor(t.manager, missing, t.now, true)))
        keys.set(id, k);
  }

  onApplicationShutdown(): void {
    this.sqliteReader?.close();
    this.sqliteReader = undefined;
  }

  /** The manifest, repaired in memory from its parity when damaged; ARCHIVE.CORRUPT when beyond repair. */
  manifest(): Promise<ArchiveManifest> {
    return this.folder.manifest();
  }

  // ---- one archive step ---------------------------------------------------------------------------------------

  /** Ships what is captured and not archived, takes a base when one is due, applies retention, prunes capture. */
  step(): Promise<{ segment?: ArchiveEntry & { full: boolean }; base?: ArchiveEntry; pruned: string[] }> {
    return this.mutex.runExclusive(async () => {
      const m = await this.manifest();
      const shipped = await this.shipSegment(m);
      const segment = shipped && {
        ...shipped,
        // Positions can have gaps, so this may say full once too often: one more step, which ships what is left.
        full: shipped.to - shipped.after >= SEGMENT_MAX_CHANGES,
      };
      const lastBase = [...m.entries].reverse().find((e) => e.kind === 'base' && !m.pruned[String(e.seq)]);
      const due =
        !lastBase ||
        this.clock.now().getTime() - Date.parse(lastBase.createdAt) >=
          this.config.archiveBaseIntervalSeconds * 1000;
      const base = due ? await this.takeBase(m) : undefined;
      const pruned = await this.retain(m);
      if (segment || base || pruned.length) await this.folder.writeManifest(m);
      await this.pruneCapture(m);
      return { segment, base, pruned };
    });
  }

  /** Forces a base now (the CLI, tests, the benchmark). */
  base(): Promise<ArchiveEntry> {
    return this.mutex.runExclusive(async () => {
      const m = await this.manifest();
      await this.shipSegment(m);
      const b = await this.takeBase(m);
      await this.folder.writeManifest(m);
      return b;
    });
  }

  private lastSegmentTo(m: ArchiveManifest): number {
    const seg = [...m.entries].reverse().find((e) => e.kind === 'segment');
    return seg ? seg.to : 0;
  }

  /**
   * The committed changes after `after` (at most a segment's worth), the transactions among them that go on past
   * the last one, and the stored keys of their tenants.
   */
  private readUnshipped(after: number): Promise<{ rows: RowChange[]; continues: number[]; keys: Keys }> {
    const pg = this.tx.isPostgres;
    return this.committedReads(async (q) => {
      const bound = await q.bound();
      const r = (
        (await q.all(
          `SELECT ${CHANGE_COLUMNS} FROM row_changes WHERE position > ${pg ? '$1' : '?'} AND position <= ${pg ? '$2' : '?'} ORDER BY position LIMIT ${SEGMENT_MAX_CHANGES}`,
          [after, bound],
        )) as RowChangeRecord[]
      ).map(toRowChange);
      if (r.length === 0)
        return { rows: r, continues: [] as number[], keys: new Map<string, Buffer | null>() };
      // Transactions that go on past this segment's end: committed ones whose later changes are above the bound
      // (PostgreSQL: an older transaction still held the floor) or past the size limit.
      const last = r[r.length - 1].position;
      const txs = [...new Set(r.map((c) => c.txId).filter((x): x is number => x !== null))];
      const continues: number[] = [];
      for (let i = 0; i < txs.length; i += 500) {
        const chunk = txs.slice(i, i + 500);
        const marks = chunk.map((_, j) => (pg ? `$${j + 2}` : '?')).join(', ');
        const found = (await q.all(
          `SELECT DISTINCT tx_id FROM row_changes WHERE position > ${pg ? '$1' : '?'} AND tx_id IN (${marks})`,
          [last, ...chunk],
        )) as Array<{ tx_id: number | string }>;
        continues.push(...found.map((x) => Number(x.tx_id)));
      }
      const keys = await this.storedKeys(q, pg, [
        ...new Set(r.filter((c) => c.op !== 'P').map((c) => c.tenantId)),
      ]);
      return { rows: r, continues: continues.sort((a, b) => a - b), keys };
    });
  }

  private async shipSegment(m: ArchiveManifest): Promise<ArchiveEntry | undefined> {
    const after = this.lastSegmentTo(m);
    const shipped = await this.readUnshipped(after);
    const rows = shipped.rows;
    if (rows.length === 0) return undefined;
    const to = rows[rows.length - 1].position;
    const now = this.clock.now();
    const keys = shipped.keys;
    // A tenant changed for the first time since it has a key: create its key (a write, so only when needed).
    await this.createKeys(keys, [
      ...new Set(rows.filter((c) => c.op !== 'P' && !keys.has(c.tenantId)).map((c) => c.tenantId)),
    ]);
    const changes = rows.map((c) => sealChange(c, c.op === 'P' ? null : keys.get(c.tenantId)));
    const file: SegmentFile = { format: 'wavegate-segment/1', after, to, changes };
    const name = `segment-${pad(after + 1)}-${pad(to)}.wga`;
    const data = Buffer.from(JSON.stringify(file), 'utf8');
    const hashes = await this.folder.writeArchived(name, data);
    return appendEntry(m, {
      kind: 'segment',
      file: name,
      ...hashes,
      size: data.length,
      after,
      to,
      // Earliest and latest change time (positions are not in time order across concurrent transactions).
      firstAt: rows.reduce((a, c) => (c.changedAt < a ? c.changedAt : a), rows[0].changedAt),
      lastAt: rows.reduce((a, c) => (c.changedAt > a ? c.changedAt : a), rows[0].changedAt),
      createdAt: now.toISOString(),
      continues: shipped.continues,
    });
  }

  /**
   * A logical base: every captured table's rows in one consistent read, with the position P it covers (every
   * change up to P is in it). On PostgreSQL P is the feed's safe bound read before the REPEATABLE READ snapshot
   * starts, so every change up to P is final and, if committed, visible in it; changes after P that the snapshot
   * also saw are replayed again, which full-row images make harmless.
   */
  private async takeBase(m: ArchiveManifest): Promise<ArchiveEntry> {
    const now = this.clock.now();
    const pg = this.tx.isPostgres;
    const read = async (q: Query, position: number) => {
      const at = await dbNow(q, pg);
      const byTenant = await tenantTables(q, pg);
      return { position, at, byTenant, keys: await this.storedKeys(q, pg, [...byTenant.keys()]) };
    };
    let snap: Awaited<ReturnType<typeof read>>;
    if (pg) {
      const position = await safeBound(this.dataSource.manager);
      snap = await this.dataSource.transaction('REPEATABLE READ', (em) => read(emQuery(em), position));
    } else {
      // The read-only connection's one read transaction: consistent, and the engine's writes go on meanwhile.
      snap = await this.committedReads(async (q) => {
        const r = (await q.all('SELECT COALESCE(MAX(position), 0) AS p FROM row_changes', [])) as Array<{
          p: number;
        }>;
        return read(q, Number(r[0].p));
      });
    }
    const ids = [...snap.byTenant.keys()];
    const keys = snap.keys;
    const missing = ids.filter((id) => !keys.has(id));
    await this.createKeys(keys, missing);
    const file = sealBase(snap.position, snap.at, snap.byTenant, keys);
    const name = `base-${stamp(new Date(snap.at))}-${pad(snap.position)}.wga`;
    const data = Buffer.from(JSON.stringify(file), 'utf8');
    const hashes = await this.folder.writeArchived(name, data);
    return appendEntry(m, {
      kind: 'base',
      file: name,
      ...hashes,
      size: data.length,
      after: snap.position,
      to: snap.position,
      firstAt: snap.at,
      lastAt: snap.at,
      createdAt: now.toISOString(),
    });
  }

  private policy() {
    return {
      allSeconds: this.config.archiveKeepAllSeconds,
      hourlySeconds: this.config.archiveKeepHourlySeconds,
      dailyDays: this.config.archiveKeepDailyDays,
    };
  }

  /** Deletes files retention no longer needs (marking them pruned in the manifest, which keeps the chain). */
  private async retain(m: ArchiveManifest): Promise<string[]> {
    const gone: string[] = [];
    const now = this.clock.now();
    for (const e of expiredEntries(m, now, this.policy())) {
      await this.folder.prune(e.file);
      m.pruned[String(e.seq)] = now.toISOString();
      gone.push(e.file);
    }
    return gone;
  }

  /** Deletes captured rows that are archived and older than WAVEGATE_CAPTURE_KEEP_SECONDS. */
  private async pruneCapture(m: ArchiveManifest): Promise<void> {
    const upTo = this.lastSegmentTo(m);
    if (upTo === 0) return;
    // A write transaction: not every step under load (the engine waits for it on SQLite), at most once a minute
    // unless rows are kept for less than that.
    const t0 = this.clock.now().getTime();
    if (t0 - this.lastCapturePrune < Math.min(60, this.config.captureKeepSeconds) * 1000) return;
    this.lastCapturePrune = t0;
    const pg = this.tx.isPostgres;
    await this.tx.run(async (t) => {
      // Compared with the database's clock, the one that stamped changed_at.
      const before = new Date(
        Date.parse(await dbNow(emQuery(t.manager), pg)) - this.config.captureKeepSeconds * 1000,
      );
      await t.manager.query(
        `DELETE FROM row_changes WHERE position <= ${pg ? '$1' : '?'} AND changed_at < ${pg ? '$2' : '?'}`,
        [upTo, pg ? before : before.toISOString().replace('T', ' ').replace('Z', '')],
      );
    });
  }

  // ---- reading, verify, repair ------------------------------------------------------------------------------

  /** A listed file's bytes, checked against the manifest's SHA-256 and repaired in memory from parity. */
  readEntry(e: ArchiveEntry): Promise<Buffer> {
    return this.folder.readEntry(e);
  }

  async readSegment(e: ArchiveEntry): Promise<SegmentFile> {
    return JSON.parse((await this.readEntry(e)).toString('utf8')) as SegmentFile;
  }

  async readBase(e: ArchiveEntry): Promise<BaseFile> {
    return JSON.parse((await this.readEntry(e)).toString('utf8')) as BaseFile;
  }

  /** The tenants' live keys (null: purged). */
  tenantKeys(ids: string[]): Promise<Keys> {
    return this.tx.read((m) => this.keyring.keysFor(m, ids, this.clock.now(), false));
  }

  /** Checks every listed file (SHA-256, parity blocks), the chain and the segments' continuity. */
  verify(opts: { repair?: boolean } = {}): Promise<ArchiveReport> {
    return this.mutex.runExclusive(() => this.verifyNow(opts.repair ?? false));
  }

  private async verifyNow(repair: boolean): Promise<ArchiveReport> {
    const r = await verifyFolder(this.folder, repair, this.clock);
    this.lastReport = r;
    // Kept next to the manifest so that the API shows the last verification, also one made by the CLI.
    await writeOnce(join(this.dir, VERIFY_FILE), Buffer.from(JSON.stringify(r))).catch((e: unknown) =>
      this.logger.warn(`could not record the verification: ${String(e)}`),
    );
    return r;
  }

  /** The last verification made by any process on this archive folder, if any. */
  async lastVerification(): Promise<ArchiveReport | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, VERIFY_FILE), 'utf8')) as ArchiveReport;
    } catch {
      return this.lastReport;
    }
  }

  /** When the newest change not yet archived was captured (archive lag), or null when everything is archived. */
  async oldestUnarchived(): Promise<string | null> {
    const m = await this.manifest();
    const after = this.lastSegmentTo(m);
    const pg = this.tx.isPostgres;
    const rows = await this.tx.read(
      (em) =>
        em.query(
          `SELECT changed_at FROM row_changes WHERE position > ${pg ? '$1' : '?'} ORDER BY position LIMIT 1`,
          [after],
        ) as Promise<Array<{ changed_at: string | Date }>>,
    );
    return rows[0] ? isoTime(rows[0].changed_at) : null;
  }
}
