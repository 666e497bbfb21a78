import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Client } from 'pg';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig, DatabaseConfig } from '../config/config.schema';

// First key of every duty's advisory lock (arbitrary constant); the second is derived from the duty's name and the
// schema, so installations sharing one PostgreSQL database elect a leader each.
const DUTY_LOCK_CLASS = 774_300_121;

/** A connection string for a plain `pg` client: TypeORM's `?schema=` is not a libpq parameter. */
export function plainPgUrl(db: DatabaseConfig): string {
  const u = new URL(db.url);
  u.searchParams.delete('schema');
  return u.toString();
}

/** A stable 32-bit key for `name` within the installation's schema. */
export function dutyKey(db: DatabaseConfig, name: string): number {
  const schema = db.kind === 'postgres' ? (db.schema ?? 'public') : '';
  return createHash('sha256').update(`wavegate-duty:${schema}:${name}`).digest().readInt32BE(0);
}

/**
 * "One replica does this" (docs/decisions/0018-replicas-fan-out.md): a background duty that must run on one replica
 * at a time asks `lead(name)` before each pass and skips the pass when it returns false.
 *
 * On PostgreSQL each duty is a session-level `pg_try_advisory_lock(DUTY_LOCK_CLASS, key(name))` held on one dedicated
 * connection per process: the first replica to take it keeps it until it stops, calls `release(name)`, or its
 * connection drops (kill -9 included: the server ends the session and frees the lock), and another replica takes it on
 * its next pass. On SQLite there is one process, so `lead` is always true.
 *
 * The lock elects; it is not a fence. Between a leader's connection dropping and the leader noticing, another replica
 * may already lead, so a duty's writes must stay correct if a pass runs twice at once (idempotent keys, conditional
 * updates). Use a row lease with a guard in the transaction (like the engine's) where two concurrent passes would do harm.
 */
@Injectable()
export class ReplicaDuties implements OnApplicationShutdown {
  private readonly logger = new Logger(ReplicaDuties.name);
  private client?: Client;
  private connecting?: Promise<Client>;
  private readonly held = new Set<string>();
  private stopped = false;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Whether this replica leads `name` now (taking it when free). Never throws: a database error is "no". */
  async lead(name: string): Promise<boolean> {
    if (this.config.database.kind !== 'postgres') return true;
    if (this.stopped) return false;
    if (this.held.has(name)) return true;
    try {
      const client = await this.connection();
      const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
        DUTY_LOCK_CLASS,
        dutyKey(this.config.database, name),
      ]);
      if (r.rows[0]?.ok !== true) return false;
      if (this.stopped || this.client !== client) return false;
      this.held.add(name);
      return true;
    } catch (e) {
      this.logger.warn(`duty ${name}: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
  }

  /** Whether this replica holds `name` now (no database round trip). */
  holds(name: string): boolean {
    return this.config.database.kind !== 'postgres' || this.held.has(name);
  }

  /** Gives the duty up so that another replica takes it on its next pass. */
  async release(name: string): Promise<void> {
    if (!this.held.delete(name) || !this.client) return;
    await this.client
      .query('SELECT pg_advisory_unlock($1, $2)', [DUTY_LOCK_CLASS, dutyKey(this.config.database, name)])
      .catch(() => undefined);
  }

  /** Gives every duty up (graceful shutdown): closing the session frees all its locks at once. */
  async releaseAll(): Promise<void> {
    this.stopped = true;
    this.held.clear();
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.releaseAll();
  }

  private async connection(): Promise<Client> {
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      const client = new Client({
        connectionString: plainPgUrl(this.config.database),
        application_name: 'wavegate-duties',
      });
      // A dropped connection has released every lock on the server: forget them all here too.
      const lost = () => {
        if (this.client !== client) return;
        this.client = undefined;
        if (this.held.size > 0)
          this.logger.warn(`duty connection lost; gave up ${[...this.held].join(', ')}`);
        this.held.clear();
      };
      client.on('error', lost);
      client.on('end', lost);
      await client.connect();
      this.client = client;
      return client;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }
}
