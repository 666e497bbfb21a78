import { randomUUID } from 'node:crypto';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { TransactionRunner } from '../common/transaction';
import { EventsDispatcher } from '../events/events.dispatcher';
import { FeedEvent } from '../events/events.service';
import { subscriptionWants } from './domain/event-filter';
import { WebhookDeliveryEntity, WebhookSubscriptionEntity } from './webhook.entity';
import { WebhookDeliveryWorker } from './webhook-delivery.worker';

export const FANOUT_CONSUMER = 'webhooks';

/**
 * The outbox consumer: for each committed event, one `webhook_deliveries` row per enabled subscription that wants it,
 * in one transaction. The dispatcher stores its position after the batch; if the process dies in between, the batch
 * is handled again and the unique (subscription_id, event_id) key turns the repeat into a no-op.
 */
@Injectable()
export class WebhookFanoutConsumer implements OnModuleInit {
  constructor(
    private readonly dispatcher: EventsDispatcher,
    private readonly tx: TransactionRunner,
    private readonly worker: WebhookDeliveryWorker,
  ) {}

  onModuleInit(): void {
    this.dispatcher.register({ name: FANOUT_CONSUMER, handle: (batch) => this.handle(batch) });
  }

  async handle(batch: FeedEvent[]): Promise<void> {
    const created = await this.tx.run(async (tx) => {
      const subs = await tx.manager.find(WebhookSubscriptionEntity, { where: { enabled: true } });
      if (subs.length === 0) return 0;
      const rows: Array<Partial<WebhookDeliveryEntity>> = [];
      for (const e of batch) {
        for (const s of subs) {
          if (e.seq <= s.afterSeq || !subscriptionWants(s, e)) continue;
          // A subscription is never told about itself (its own `webhook.updated`): a failing receiver would
          // otherwise queue news of its own failure behind itself.
          if (e.entityType === 'webhook' && e.entityId === s.id) continue;
          rows.push({
            id: randomUUID(),
            subscriptionId: s.id,
            eventId: e.id,
            eventSeq: e.seq,
            eventType: e.type,
            status: 'pending',
            attempts: 0,
            nextAttemptAt: tx.now,
            lastAttemptAt: null,
            lastStatusCode: null,
            lastError: null,
            createdAt: tx.now,
            completedAt: null,
          });
        }
      }
      // Chunked: SQLite limits bound parameters per statement.
      for (let i = 0; i < rows.length; i += 50) {
        await tx.manager
          .createQueryBuilder()
          .insert()
          .into(WebhookDeliveryEntity)
          .values(rows.slice(i, i + 50))
          .orIgnore()
          .execute();
      }
      return rows.length;
    });
    if (created > 0) this.worker.poke();
  }
}
