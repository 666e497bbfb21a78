import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Client } from 'pg';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { BackupsService } from './backups.service';

// First key of the advisory lock that elects the one replica making scheduled backups (arbitrary constant); the
// second is derived from the schema, so installations sharing one PostgreSQL database elect one leader each.
const BACKUP_LOCK_CLASS = 774_300_118;

/**
 * Makes a backup every WAVEGATE_BACKUP_INTERVAL_SECONDS (0: never), at wall-clock multiples of the interval. The
 * next tick is armed only after a backup ends, so backups never overlap; the timer is unref'd and cleared on
 * shutdown, which also waits for a backup in progress.
 *
 * On PostgreSQL a replica makes scheduled backups only while it holds a session-level `pg_try_advisory_lock`
 * on a dedicated connection: the first replica to take it keeps it until it stops (or its connection drops),
 * so exactly one replica backs up per interval, and another takes over at its next tick.
 */
@Injectable()
export class BackupScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BackupScheduler.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private leader?: Client;

  constructor(
    private readonly backups: BackupsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.backupIntervalSeconds > 0) this.arm();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.leader?.end().catch(() => undefined);
    this.leader = undefined;
  }

  private arm(): void {
    if (this.stopped) return;
    const period = this.config.backupIntervalSeconds * 1000;
    this.timer = setTimeout(
      () => {
        this.running = this.tick().finally(() => {
          this.running = undefined;
          this.arm();
        });
      },
      period - (Date.now() % period),
    );
    this.timer.unref();
  }

  /** One scheduled attempt; a failure is logged (once per attempt) and the schedule goes on. */
  async tick(): Promise<void> {
    try {
      if (this.config.database.kind === 'postgres' && !(await this.lead())) return;
      if (this.stopped) return;
      const m = await this.backups.create('schedule', 'schedule');
      this.logger.log(`backup ${m.fileName}: ${m.sizeBytes} bytes in ${m.durationMs} ms`);
    } catch (e) {
      this.logger.error(`scheduled backup failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Whether this replica holds (or has just taken) the backup leader lock. */
  private async lead(): Promise<boolean> {
    if (this.leader) return true;
    const db = this.config.database;
    if (db.kind !== 'postgres') return true;
    const u = new URL(db.url);
    u.searchParams.delete('schema');
    const client = new Client({ connectionString: u.toString() });
    // A dropped connection releases the lock on the server; forget it here and try again next tick.
    client.on('error', () => {
      if (this.leader === client) this.leader = undefined;
    });
    client.on('end', () => {
      if (this.leader === client) this.leader = undefined;
    });
    await client.connect();
    try {
      const key = createHash('sha256')
        .update(`wavegate-backup:${db.schema ?? 'public'}`)
        .digest()
        .readInt32BE(0);
      const rows = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
        BACKUP_LOCK_CLASS,
        key,
      ]);
      if (rows.rows[0]?.ok && !this.stopped) {
        this.leader = client;
        return true;
      }
    } catch (e) {
      this.logger.warn(`backup leader lock: ${String(e)}`);
    }
    await client.end().catch(() => undefined);
    return false;
  }
}
