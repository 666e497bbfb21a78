import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ReplicaDuties } from '../common/replica-duties';
import { TransactionRunner } from '../common/transaction';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { EventConsumerEntity } from './event.entity';
import { EventsService, FeedEvent } from './events.service';

export interface DurableConsumer {
  /** Unique, stable name: its read position is stored under it. */
  name: string;
  /** Handles a batch in order. If it throws, the batch is retried later from the same position (at least once). */
  handle(events: FeedEvent[]): Promise<void>;
}

export type LiveListener = (event: FeedEvent) => void;

const BATCH = 200;
/** The duty (ReplicaDuties) of draining the durable consumers: one replica at a time. */
export const DURABLE_CONSUMERS_DUTY = 'outbox-consumers';

/**
 * Tails the outbox. Durable consumers (webhooks, ...) keep their position in `event_consumers`, so none loses an
 * event across a restart, and are drained by one replica at a time (the DURABLE_CONSUMERS_DUTY); live listeners
 * (SSE streams, the flag snapshot) get each event once it is committed, in seq order, on every replica, including
 * events committed by other replicas: woken by this process's commits, by PostgreSQL NOTIFY (OutboxListener) and,
 * as the fallback, by a poll.
 */
@Injectable()
export class EventsDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(EventsDispatcher.name);
  private readonly consumers: DurableConsumer[] = [];
  private readonly live = new Set<LiveListener>();
  private liveSeq = 0;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly events: EventsService,
    private readonly tx: TransactionRunner,
    private readonly duties: ReplicaDuties,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    tx.onCommit((committed) => {
      if (committed.length > 0) this.poke();
    });
  }

  register(consumer: DurableConsumer): void {
    this.consumers.push(consumer);
    this.poke();
  }

  /** Returns an unsubscribe function. */
  listen(listener: LiveListener): () => void {
    this.live.add(listener);
    return () => this.live.delete(listener);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.liveSeq = await this.events.headSeq();
    this.timer = setInterval(() => this.poke(), this.config.outboxPollMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Wakes the dispatcher; runs are never concurrent, and a poke during a run causes one more run. */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((e: unknown) => this.logger.error(`dispatch failed: ${String(e)}`))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.poke();
        }
      });
  }

  /** Resolves once every registered consumer has caught up with what is committed now (for tests and shutdown). */
  async settle(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      this.poke();
      await this.running;
      if (!this.again && !this.running) {
        if (!this.duties.holds(DURABLE_CONSUMERS_DUTY)) return;
        const head = await this.events.headSeq();
        const positions = await this.positions();
        if (this.consumers.every((c) => (positions.get(c.name) ?? 0) >= head)) return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async positions(): Promise<Map<string, number>> {
    const rows = await this.dataSource.getRepository(EventConsumerEntity).find();
    return new Map(rows.map((r) => [r.name, r.position]));
  }

  private async drain(): Promise<void> {
    if (this.live.size > 0) await this.drainLive();
    else this.liveSeq = Math.max(this.liveSeq, await this.events.headSeq());
    if (this.consumers.length === 0 || !(await this.duties.lead(DURABLE_CONSUMERS_DUTY))) return;
    for (const c of this.consumers) await this.drainConsumer(c);
  }

  private async drainLive(): Promise<void> {
    for (;;) {
      const batch = await this.events.after(this.liveSeq, BATCH);
      for (const e of batch) {
        this.liveSeq = e.seq;
        for (const l of this.live) {
          try {
            l(e);
          } catch (err) {
            this.logger.warn(`live listener failed: ${String(err)}`);
          }
        }
      }
      if (batch.length < BATCH) return;
    }
  }

  private async drainConsumer(c: DurableConsumer): Promise<void> {
    let position = (await this.positions()).get(c.name) ?? 0;
    for (;;) {
      if (this.stopped) return;
      const batch = await this.events.after(position, BATCH);
      if (batch.length === 0) return;
      await c.handle(batch);
      position = batch[batch.length - 1].seq;
      const pos = position;
      await this.tx.run(async (tx) => {
        // Never backwards: a replica that lost the duty mid-batch must not rewind the one that took it over.
        const row = await tx.manager.findOne(EventConsumerEntity, { where: { name: c.name } });
        if (row && row.position >= pos) return;
        await tx.manager.upsert(EventConsumerEntity, { name: c.name, position: pos, updatedAt: tx.now }, [
          'name',
        ]);
      });
      if (batch.length < BATCH) return;
    }
  }
}
