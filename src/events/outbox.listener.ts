import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Client } from 'pg';
import { Gauge } from 'prom-client';
import { plainPgUrl } from '../common/replica-duties';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { MetricsService } from '../health/metrics.service';
import { outboxChannel } from './outbox.channel';
import { EventsDispatcher } from './events.dispatcher';

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;
// A LISTEN connection that died without an error (a silent network drop) is found by a ping this often.
const PING_MS = 10_000;

/**
 * PostgreSQL fan-out (docs/decisions/0018-replicas-fan-out.md): one dedicated connection per replica LISTENs on the
 * outbox channel; a notification (no payload) wakes the dispatcher, which reads the outbox after its
 * own position and feeds the SSE streams, the flag snapshot and the durable consumers. The outbox stays the source
 * of truth: a lost connection is reopened with backoff and the dispatcher is woken to catch up with whatever
 * committed meanwhile, and the dispatcher's poll remains the fallback. SQLite: nothing to do (one process).
 */
@Injectable()
export class OutboxListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxListener.name);
  private client?: Client;
  private stopped = false;
  private backoff = RECONNECT_MIN_MS;
  private retry?: NodeJS.Timeout;
  private ping?: NodeJS.Timeout;
  private readonly up: Gauge;
  /** This schema's outbox channel (outbox.channel.ts). */
  private readonly channel: string;
  /** Times the LISTEN connection was (re)established; for the operator and the tests. */
  connects = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dispatcher: EventsDispatcher,
    metrics: MetricsService,
  ) {
    // The same schema the DataSource (and so the ledger appender's NOTIFY) uses.
    this.channel = outboxChannel(config.database.kind === 'postgres' ? config.database.schema : undefined);
    this.up = new Gauge({
      name: 'wavegate_outbox_listen_up',
      help: '1 while this replica LISTENs for outbox notifications (PostgreSQL), else 0',
      registers: [metrics.registry],
    });
  }

  /** Whether the LISTEN connection is open now (always false on SQLite). */
  get listening(): boolean {
    return this.client !== undefined;
  }

  /** The server process id of the LISTEN connection (tests terminate it to prove the catch-up). */
  backendPid(): number | undefined {
    return (this.client as unknown as { processID?: number } | undefined)?.processID;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.database.kind !== 'postgres') return;
    await this.connect();
    this.ping = setInterval(() => void this.checkAlive(), PING_MS);
    this.ping.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.ping) clearInterval(this.ping);
    const c = this.client;
    this.client = undefined;
    this.up.set(0);
    await c?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({
      connectionString: plainPgUrl(this.config.database),
      application_name: `wavegate-listen:${this.channel}`.slice(0, 63),
      keepAlive: true,
    });
    const lost = (why: string) => {
      if (this.client !== client) return;
      this.client = undefined;
      this.up.set(0);
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (this.stopped) return;
      this.logger.warn(`outbox LISTEN connection lost (${why}); reconnecting, the poll covers the gap`);
      this.schedule();
    };
    client.on('error', (e) => lost(e.message));
    client.on('end', () => lost('ended'));
    client.on('notification', () => this.dispatcher.poke());
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
    } catch (e) {
      await client.end().catch(() => undefined);
      if (this.stopped) return;
      this.logger.warn(`outbox LISTEN failed: ${e instanceof Error ? e.message : String(e)}; retrying`);
      this.schedule();
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.connects++;
    this.backoff = RECONNECT_MIN_MS;
    this.up.set(1);
    // Catch up with whatever committed while nobody listened (the first connect included).
    this.dispatcher.poke();
  }

  private schedule(): void {
    if (this.stopped || this.retry) return;
    const wait = this.backoff;
    this.backoff = Math.min(this.backoff * 2, RECONNECT_MAX_MS);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.connect();
    }, wait);
    this.retry.unref();
  }

  private async checkAlive(): Promise<void> {
    const c = this.client;
    if (!c) return;
    const timeout = new Promise<never>((_, reject) => {
      const t = setTimeout(() => reject(new Error('ping timed out')), 5_000);
      t.unref();
    });
    try {
      await Promise.race([c.query('SELECT 1'), timeout]);
    } catch (e) {
      c.emit('error', e instanceof Error ? e : new Error(String(e)));
    }
  }
}
