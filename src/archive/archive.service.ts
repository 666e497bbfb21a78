import { readFile, readdir, stat, unlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import BetterSqlite3 from 'better-sqlite3';
import { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { Mutex } from '../common/mutex';
import { TransactionRunner } from '../common/transaction';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { open, seal } from '../snapshots/tenant-crypto';
import { archiveCorrupt } from './archive.errors';
import { writeOnce } from './archive.files';
import {
  appendEntry,
  ArchiveEntry,
  ArchiveManifest,
  chainProblems,
  emptyManifest,
  expiredEntries,
  MANIFEST_FILE,
  PARITY_SUFFIX,
} from './archive.manifest';
import { CHANGE_COLUMNS, isoTime, RowChange, RowChangeRecord, toRowChange } from './capture.store';
import { CAPTURED_TABLES } from './capture.tables';
import { safeBound } from './changes.service';
import { checkParity, encodeParity, ParityCheck } from './parity';
import { TenantKeyring } from './tenant-keys';
import { TenantImage } from './tenant-image';

const SEGMENT_MAX_CHANGES = 20_000;
const VERIFY_FILE = 'last-verify.json';

/** A change as a segment stores it: metadata in clear (ids only), the images sealed under the tenant's key. */
interface SegmentChange {
  p: number;
  tx: number | null;
  at: string;
  table: string;
  tenant: string;
  op: string;
  /** seal(tenant key, JSON {before, after}); null for a purge marker or a tenant whose key is already destroyed. */
  img: string | null;
}
interface SegmentFile {
  format: 'wavegate-segment/1';
  after: number;
  to: number;
  changes: SegmentChange[];
}
interface BaseFile {
  format: 'wavegate-base/1';
  position: number;
  takenAt: string;
  /** tenant id -> seal(tenant key, JSON TenantImage['tables']). */
  tenants: Record<string, string>;
  /** Tenants left out because their key is destroyed (purged): their history is erased. */
  purged: string[];
}

export interface FileReport {
  file: string;
  kind: 'base' | 'segment' | 'manifest';
  status: 'ok' | 'missing' | 'damaged' | 'repaired' | 'unrepairable';
  /** Data blocks (shardSize bytes each, from 0) whose checksum failed. */
  damagedBlocks: number[];
  damagedParityBlocks: number[];
  /** Blocks beyond what parity can rebuild (more than M damaged blocks in their stripe). */
  unrepairableBlocks: number[];
  shardSize: number;
  reason?: string;
}

export interface ArchiveReport {
  ok: boolean;
  checkedAt: string;
  files: FileReport[];
  /** Broken chain links, reordered entries and position gaps (a removed segment). */
  chain: Array<{ seq: number | null; file: string | null; reason: string }>;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace('.', '');
const pad = (n: number) => String(n).padStart(15, '0');

/**
 * The continuous archive (docs/decisions/0014-continuous-archive.md): captured changes shipped as sealed, append-only
 * segment files, logical bases of the tenant-scoped tables, every file with Reed-Solomon parity, listed in a
 * hash-chained manifest; retention; verify and repair.
 */
@Injectable()
export class ArchiveService implements OnApplicationShutdown {
  private readonly logger = new Logger(ArchiveService.name);
  readonly mutex = new Mutex();
  private readonly keyring: TenantKeyring;
  /** The last full verification (what GET /api/backups reports). */
  lastReport?: ArchiveReport;

  constructor(
    private readonly tx: TransactionRunner,
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {
    this.keyring = new TenantKeyring(config.secret);
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
  private async storedKeys(q: Query, pg: boolean, ids: string[]): Promise<Map<string, Buffer | null>> {
    const keys = new Map<string, Buffer | null>();
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

  onApplicationShutdown(): void {
    this.sqliteReader?.close();
    this.sqliteReader = undefined;
  }

  // ---- manifest ---------------------------------------------------------------------------------------------

  /** The manifest, repaired in memory from its parity when damaged; ARCHIVE.CORRUPT when beyond repair. */
  async manifest(): Promise<ArchiveManifest> {
    const file = join(this.dir, MANIFEST_FILE);
    return this.whileReplaced(async () => {
      let raw: Buffer;
      try {
        raw = await readFile(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyManifest();
        throw e;
      }
      const { data } = await this.checked(MANIFEST_FILE, raw, null);
      return JSON.parse(data.toString('utf8')) as ArchiveManifest;
    });
  }

  /** Where the manifest and its parity are: inode, size and mtime of each (a writer's rename changes them). */
  private async manifestStamp(): Promise<{ id: string; newest: number }> {
    const parts: string[] = [];
    let newest = 0;
    for (const f of [MANIFEST_FILE, MANIFEST_FILE + PARITY_SUFFIX]) {
      try {
        const st = await stat(join(this.dir, f));
        parts.push(`${st.ino}:${st.size}:${st.mtimeMs}`);
        newest = Math.max(newest, st.mtimeMs);
      } catch {
        parts.push('-');
      }
    }
    return { id: parts.join('|'), newest };
  }

  /**
   * Runs a read of the manifest pair again while a writer is replacing it. The manifest and its parity are two
   * files, each replaced by an atomic rename, so a reader between the two renames sees a new parity with the old
   * manifest: that looks like damage beyond repair and is not. A read that fails is retried while this process is
   * writing the manifest, while either file changed during the read, or while either was replaced in the last
   * second (another process: the CLI or another replica's archiver); damage on disk fails the same way every time.
   */
  private async whileReplaced<T>(read: () => Promise<T>, ok: (r: T) => boolean = () => true): Promise<T> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      await this.manifestWrite;
      const before = await this.manifestStamp();
      let r: { value: T } | { error: unknown };
      try {
        r = { value: await read() };
      } catch (error) {
        r = { error };
      }
      if ('value' in r && ok(r.value)) return r.value;
      const after = await this.manifestStamp();
      const moving =
        this.manifestWrite !== undefined || after.id !== before.id || Date.now() - after.newest < 1_000;
      if (!moving || Date.now() > deadline) {
        if ('error' in r) throw r.error;
        return r.value;
      }
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  private manifestWrite?: Promise<void>;

  private async writeManifest(m: ArchiveManifest): Promise<void> {
    const data = Buffer.from(JSON.stringify(m, null, 1), 'utf8');
    const write = (async () => {
      await writeOnce(join(this.dir, MANIFEST_FILE + PARITY_SUFFIX), await encodeParity(data));
      await writeOnce(join(this.dir, MANIFEST_FILE), data);
    })();
    this.manifestWrite = write.then(
      () => undefined,
      () => undefined,
    );
    try {
      await write;
    } finally {
      this.manifestWrite = undefined;
    }
  }

  private async writeArchived(name: string, data: Buffer): Promise<{ sha256: string; paritySha256: string }> {
    const parity = await encodeParity(data);
    await writeOnce(join(this.dir, name + PARITY_SUFFIX), parity);
    await writeOnce(join(this.dir, name), data);
    return { sha256: sha(data), paritySha256: sha(parity) };
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
      if (segment || base || pruned.length) await this.writeManifest(m);
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
      await this.writeManifest(m);
      return b;
    });
  }

  private lastSegmentTo(m: ArchiveManifest): number {
    const seg = [...m.entries].reverse().find((e) => e.kind === 'segment');
    return seg ? seg.to : 0;
  }

  private async shipSegment(m: ArchiveManifest): Promise<ArchiveEntry | undefined> {
    const after = this.lastSegmentTo(m);
    const pg = this.tx.isPostgres;
    const shipped = await this.committedReads(async (q) => {
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
    const rows = shipped.rows;
    if (rows.length === 0) return undefined;
    const to = rows[rows.length - 1].position;
    const now = this.clock.now();
    const keys = shipped.keys;
    // A tenant changed for the first time since it has a key: create its key (a write, so only when needed).
    const missing = [
      ...new Set(rows.filter((c) => c.op !== 'P' && !keys.has(c.tenantId)).map((c) => c.tenantId)),
    ];
    if (missing.length > 0)
      for (const [id, k] of await this.tx.run((t) => this.keyring.keysFor(t.manager, missing, t.now, true)))
        keys.set(id, k);
    const changes: SegmentChange[] = rows.map((c) => {
      const key = c.op === 'P' ? null : keys.get(c.tenantId);
      return {
        p: c.position,
        tx: c.txId,
        at: c.changedAt,
        table: c.table,
        tenant: c.tenantId,
        op: c.op,
        img: key
          ? seal(
              key,
              Buffer.from(JSON.stringify({ before: c.before, after: c.after })),
              `archive:${c.tenantId}:${c.position}`,
            )
          : null,
      };
    });
    const file: SegmentFile = { format: 'wavegate-segment/1', after, to, changes };
    const name = `segment-${pad(after + 1)}-${pad(to)}.wga`;
    const data = Buffer.from(JSON.stringify(file), 'utf8');
    const hashes = await this.writeArchived(name, data);
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
      const byTenant = new Map<string, TenantImage['tables']>();
      for (const t of CAPTURED_TABLES) {
        const rows = (await q.all(await imageSelect(q, pg, t.name, t.excluded), [])) as Array<{
          j: string | object;
        }>;
        for (const r of rows) {
          const row = (typeof r.j === 'string' ? JSON.parse(r.j) : r.j) as Record<string, unknown>;
          const id = String(row[t.tenantColumn]);
          let img = byTenant.get(id);
          if (!img) {
            img = Object.fromEntries(CAPTURED_TABLES.map((x) => [x.name, [] as Record<string, unknown>[]]));
            byTenant.set(id, img);
          }
          img[t.name].push(row);
        }
      }
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
    if (missing.length > 0)
      for (const [id, k] of await this.tx.run((t) => this.keyring.keysFor(t.manager, missing, t.now, true)))
        keys.set(id, k);
    const tenants: Record<string, string> = {};
    const purged: string[] = [];
    for (const id of ids) {
      const key = keys.get(id);
      if (!key) {
        purged.push(id);
        continue;
      }
      tenants[id] = seal(
        key,
        Buffer.from(JSON.stringify(snap.byTenant.get(id))),
        `archive-base:${id}:${snap.position}`,
      );
    }
    const file: BaseFile = {
      format: 'wavegate-base/1',
      position: snap.position,
      takenAt: snap.at,
      tenants,
      purged,
    };
    const name = `base-${stamp(new Date(snap.at))}-${pad(snap.position)}.wga`;
    const data = Buffer.from(JSON.stringify(file), 'utf8');
    const hashes = await this.writeArchived(name, data);
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
      for (const f of [e.file, e.file + PARITY_SUFFIX])
        await unlink(join(this.dir, f)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
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

  /**
   * The file's bytes after checking them against the manifest's SHA-256 and the parity: damaged blocks are rebuilt
   * in memory; ARCHIVE.CORRUPT names the file and blocks when parity cannot.
   */
  private async checked(
    name: string,
    raw: Buffer,
    expectedSha: string | null,
  ): Promise<{ data: Buffer; check?: ParityCheck }> {
    if (expectedSha !== null && sha(raw) === expectedSha) return { data: raw };
    let par: Buffer;
    try {
      par = await readFile(join(this.dir, name + PARITY_SUFFIX));
    } catch {
      if (expectedSha === null) return { data: raw };
      throw archiveCorrupt(name, [], 'its SHA-256 does not match and its parity file is missing');
    }
    const r = await checkParity(raw, par);
    if (r.check.ok && expectedSha === null) return { data: raw, check: r.check };
    if (!r.repaired || (expectedSha !== null && sha(r.repaired) !== expectedSha))
      throw archiveCorrupt(
        name,
        r.check.unrepairableBlocks.length ? r.check.unrepairableBlocks : r.check.damagedBlocks,
        r.check.parityUnusable ?? `more than ${2} damaged blocks in a stripe`,
      );
    return { data: r.repaired, check: r.check };
  }

  async readEntry(e: ArchiveEntry): Promise<Buffer> {
    let raw: Buffer;
    try {
      raw = await readFile(join(this.dir, e.file));
    } catch {
      throw archiveCorrupt(e.file, [], 'the file is missing');
    }
    return (await this.checked(e.file, raw, e.sha256)).data;
  }

  async readSegment(e: ArchiveEntry): Promise<SegmentFile> {
    return JSON.parse((await this.readEntry(e)).toString('utf8')) as SegmentFile;
  }

  async readBase(e: ArchiveEntry): Promise<BaseFile> {
    return JSON.parse((await this.readEntry(e)).toString('utf8')) as BaseFile;
  }

  /** The tenants' live keys (null: purged). */
  tenantKeys(ids: string[]): Promise<Map<string, Buffer | null>> {
    return this.tx.read((m) => this.keyring.keysFor(m, ids, this.clock.now(), false));
  }

  /** Decrypts one segment change's images; null when they are erased. */
  static openChange(c: SegmentChange, key: Buffer | null | undefined): RowChange {
    let img: { before: Record<string, unknown> | null; after: Record<string, unknown> | null } = {
      before: null,
      after: null,
    };
    if (c.img && key)
      img = JSON.parse(open(key, c.img, `archive:${c.tenant}:${c.p}`).toString('utf8')) as typeof img;
    return {
      position: c.p,
      txId: c.tx,
      changedAt: c.at,
      table: c.table,
      tenantId: c.tenant,
      op: c.op as RowChange['op'],
      ...img,
    };
  }

  static openBase(b: BaseFile, tenantId: string, key: Buffer): TenantImage['tables'] | undefined {
    const sealed = b.tenants[tenantId];
    if (!sealed) return undefined;
    return JSON.parse(
      open(key, sealed, `archive-base:${tenantId}:${b.position}`).toString('utf8'),
    ) as TenantImage['tables'];
  }

  /** Checks every listed file (SHA-256, parity blocks), the chain and the segments' continuity. */
  verify(opts: { repair?: boolean } = {}): Promise<ArchiveReport> {
    return this.mutex.runExclusive(() => this.verifyNow(opts.repair ?? false));
  }

  private async verifyNow(repair: boolean): Promise<ArchiveReport> {
    const files: FileReport[] = [];
    const report = (
      file: string,
      kind: FileReport['kind'],
      status: FileReport['status'],
      c?: ParityCheck,
      reason?: string,
    ) =>
      files.push({
        file,
        kind,
        status,
        damagedBlocks: c?.damagedBlocks ?? [],
        damagedParityBlocks: c?.damagedParityBlocks ?? [],
        unrepairableBlocks: c?.unrepairableBlocks ?? [],
        shardSize: c?.shardSize ?? 0,
        reason: reason ?? c?.parityUnusable,
      });
    const check = async (
      name: string,
      kind: FileReport['kind'],
      expected: string | null,
    ): Promise<Buffer | undefined> => {
      let raw: Buffer;
      try {
        raw = await readFile(join(this.dir, name));
      } catch {
        report(name, kind, 'missing', undefined, 'the file is missing');
        return undefined;
      }
      let par: Buffer | undefined;
      try {
        par = await readFile(join(this.dir, name + PARITY_SUFFIX));
      } catch {
        par = undefined;
      }
      if (!par) {
        const ok = expected === null || sha(raw) === expected;
        report(
          name,
          kind,
          ok ? 'ok' : 'unrepairable',
          undefined,
          ok ? 'parity file missing' : 'SHA-256 mismatch and no parity file',
        );
        if (ok && repair) await writeOnce(join(this.dir, name + PARITY_SUFFIX), await encodeParity(raw));
        return ok ? raw : undefined;
      }
      const r = await checkParity(raw, par);
      const shaOk = expected === null || sha(raw) === expected;
      if (r.check.ok && shaOk) {
        report(name, kind, 'ok', r.check);
        return raw;
      }
      const fixed = r.repaired && (expected === null || sha(r.repaired) === expected);
      if (!fixed) {
        report(
          name,
          kind,
          'unrepairable',
          r.check,
          r.check.parityUnusable ??
            (r.check.unrepairableBlocks.length
              ? `more than ${2} damaged blocks in a stripe`
              : 'does not match the manifest'),
        );
        return undefined;
      }
      if (repair) {
        if (!r.check.ok || !shaOk) await writeOnce(join(this.dir, name), r.repaired as Buffer);
        if (r.repairedParity) await writeOnce(join(this.dir, name + PARITY_SUFFIX), r.repairedParity);
      }
      report(name, kind, repair ? 'repaired' : 'damaged', r.check);
      return r.repaired;
    };
    // The manifest pair may be mid-replacement by the archiver of a running service (this is also the CLI's path).
    const manifestRaw = await this.whileReplaced(
      async () => {
        files.length = 0;
        return check(MANIFEST_FILE, 'manifest', null);
      },
      () => files.every((f) => f.status === 'ok' || f.status === 'repaired'),
    );
    let m = emptyManifest();
    if (manifestRaw) {
      try {
        m = JSON.parse(manifestRaw.toString('utf8')) as ArchiveManifest;
      } catch {
        files[files.length - 1].status = 'unrepairable';
        files[files.length - 1].reason = 'not a manifest';
      }
    }
    for (const e of m.entries) {
      if (m.pruned[String(e.seq)]) continue;
      await check(e.file, e.kind, e.sha256);
    }
    const chain = chainProblems(m);
    // A listed file that is gone (not pruned) is a gap too.
    for (const f of files)
      if (f.status === 'missing' && f.kind === 'segment')
        chain.push({
          seq: m.entries.find((e) => e.file === f.file)?.seq ?? null,
          file: f.file,
          reason: 'gap: the segment file is missing',
        });
    // Files in the folder that the manifest does not list (left by a crash, or planted) are reported, not deleted.
    const listed = new Set(
      m.entries
        .flatMap((e) => [e.file, e.file + PARITY_SUFFIX])
        .concat([MANIFEST_FILE, MANIFEST_FILE + PARITY_SUFFIX, VERIFY_FILE]),
    );
    // A file younger than a minute may be one a running archiver has written and not yet listed.
    for (const n of await readdir(this.dir).catch(() => [] as string[])) {
      if (listed.has(n) || n.startsWith('.')) continue;
      const st = await stat(join(this.dir, n)).catch(() => undefined);
      if (st?.isFile() && Date.now() - st.mtimeMs > 60_000)
        chain.push({ seq: null, file: n, reason: 'not listed in the manifest' });
    }
    const r: ArchiveReport = {
      ok: files.every((f) => f.status === 'ok' || f.status === 'repaired') && chain.length === 0,
      checkedAt: this.clock.now().toISOString(),
      files: files.filter((f) => f.status !== 'ok' || f.kind === 'manifest'),
      chain,
    };
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

/** The one thing the archive's reads need from a connection. */
interface Query {
  all(sql: string, params: unknown[]): Promise<unknown[]>;
}

const emQuery = (em: EntityManager): Query => ({
  all: (sql, params) => em.query(sql, params) as Promise<unknown[]>,
});

async function dbNow(q: Query, pg: boolean): Promise<string> {
  if (pg) {
    const r = (await q.all('SELECT clock_timestamp() AS t', [])) as Array<{ t: Date }>;
    return r[0].t.toISOString();
  }
  const r = (await q.all(`SELECT strftime('%Y-%m-%d %H:%M:%f', 'now') AS t`, [])) as Array<{ t: string }>;
  return isoTime(r[0].t);
}

/** A SELECT of the table's rows as JSON images, the same shape the capture triggers record. */
async function imageSelect(q: Query, pg: boolean, table: string, excluded: string[]): Promise<string> {
  if (pg) {
    const ex = excluded.length ? ` - ARRAY[${excluded.map((c) => `'${c}'`).join(', ')}]::text[]` : '';
    return `SELECT (to_jsonb(t)${ex})::text AS j FROM "${table}" t`;
  }
  const cols = ((await q.all(`PRAGMA table_info("${table}")`, [])) as Array<{ name: string }>)
    .map((c) => c.name)
    .filter((c) => !excluded.includes(c));
  return `SELECT json_object(${cols.map((c) => `'${c}', "${c}"`).join(', ')}) AS j FROM "${table}"`;
}

export type { SegmentFile, BaseFile, SegmentChange };
