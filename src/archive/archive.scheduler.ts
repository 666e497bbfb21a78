import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Client } from 'pg';
import { Gauge } from 'prom-client';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { MetricsService } from '../health/metrics.service';
import { ArchiveReader } from './archive.reader';
import { ArchiveService } from './archive.service';

// First key of the advisory lock that elects the one replica that archives (arbitrary constant; the backup
// leader's is 774_300_118). The second is derived from the schema, as for backups.
const ARCHIVE_LOCK_CLASS = 774_300_119;

/**
 * Runs an archive step every WAVEGATE_ARCHIVE_INTERVAL_SECONDS (0: never) and a full verification after each new
 * base. On PostgreSQL only the replica holding a session-level advisory lock archives (as backups do). Also owns
 * the archive gauges, computed when /metrics is scraped.
 */
@Injectable()
export class ArchiveScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ArchiveScheduler.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private leader?: Client;

  constructor(
    private readonly archive: ArchiveService,
    private readonly reader: ArchiveReader,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    const archiveService = this.archive;
    const archiveReader = this.reader;
    new Gauge({
      name: 'wavegate_archive_lag_seconds',
      help: 'Age of the oldest captured change not yet shipped to the archive (0: everything is archived)',
      registers: [metrics.registry],
      async collect() {
        const oldest = await archiveService.oldestUnarchived().catch(() => null);
        this.set(oldest ? Math.max(0, (Date.now() - Date.parse(oldest)) / 1000) : 0);
      },
    });
    new Gauge({
      name: 'wavegate_archive_restorable_window_seconds',
      help: 'Restorable window: oldest and newest restorable moment (unix seconds), and archived_through (newest archived change)',
      labelNames: ['bound'] as const,
      registers: [metrics.registry],
      async collect() {
        const w = await archiveReader.restorableWindow().catch(() => undefined);
        if (!w) return;
        this.set({ bound: 'oldest' }, w.oldest.getTime() / 1000);
        this.set({ bound: 'newest' }, w.newest.getTime() / 1000);
        this.set({ bound: 'archived_through' }, w.archivedThrough ? w.archivedThrough.getTime() / 1000 : 0);
      },
    });
  }

  onApplicationBootstrap(): void {
    if (this.config.archiveIntervalSeconds > 0) this.arm();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.leader?.end().catch(() => undefined);
    this.leader = undefined;
  }

  /**
   * Fixed rate: the next step is due one interval after the previous one *started*, so the time a step takes does
   * not add to the archive lag (a step that outlasts the interval is followed at once, never overlapped).
   */
  private arm(lastStart = Date.now()): void {
    if (this.stopped) return;
    const wait = Math.max(0, lastStart + this.config.archiveIntervalSeconds * 1000 - Date.now());
    this.timer = setTimeout(() => {
      const start = Date.now();
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.arm(start);
      });
    }, wait);
    this.timer.unref();
  }

  /** One scheduled step; a failure is logged and the schedule goes on. */
  async tick(): Promise<void> {
    try {
      if (this.config.database.kind === 'postgres' && !(await this.lead())) return;
      if (this.stopped) return;
      let r = await this.archive.step();
      // A backlog (a segment at its size limit): ship the rest now rather than an interval later.
      while (r.segment?.full && !this.stopped) {
        const more = await this.archive.step();
        r = { ...more, base: more.base ?? r.base };
      }
      if (r.base) {
        const report = await this.archive.verify();
        if (!report.ok) this.logger.error(`archive verification found problems: ${JSON.stringify(report)}`);
      }
    } catch (e) {
      this.logger.error(`archive step failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async lead(): Promise<boolean> {
    if (this.leader) return true;
    const db = this.config.database;
    if (db.kind !== 'postgres') return true;
    const u = new URL(db.url);
    u.searchParams.delete('schema');
    const client = new Client({ connectionString: u.toString() });
    client.on('error', () => {
      if (this.leader === client) this.leader = undefined;
    });
    client.on('end', () => {
      if (this.leader === client) this.leader = undefined;
    });
    await client.connect();
    try {
      const key = createHash('sha256')
        .update(`wavegate-archive:${db.schema ?? 'public'}`)
        .digest()
        .readInt32BE(0);
      const rows = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
        ARCHIVE_LOCK_CLASS,
        key,
      ]);
      if (rows.rows[0]?.ok && !this.stopped) {
        this.leader = client;
        return true;
      }
    } catch (e) {
      this.logger.warn(`archive leader lock: ${String(e)}`);
    }
    await client.end().catch(() => undefined);
    return false;
  }
}
