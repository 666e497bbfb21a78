// Webhook subscriptions (docs/webhooks.md): create, read, update and delete them (the signing secret sealed, returned
// once), the destination allowlist, a webhook's deliveries with their attempts, redelivery and a ping. Sending in turn is
// webhook-delivery.worker.ts; where a webhook may deliver is checked by webhook.destinations.ts.
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In } from 'typeorm';
import { Clock } from '../common/clock';
import { decodeCursor, encodeCursor, isNumber } from '../common/cursor';
import { notFound } from '../common/errors';
import { TransactionRunner } from '../common/transaction';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { EventEntity } from '../events/event.entity';
import { Allowlist, DestinationPolicy } from './domain/destination.policy';
import { loadAllowlist, saveAllowlist } from './webhook.allowlist.store';
import {
  DeliveryStatus,
  WebhookDeliveryAttemptEntity,
  WebhookDeliveryEntity,
  WebhookFormat,
  WebhookSubscriptionEntity,
} from './webhook.entity';
import { buildRequest } from './webhook.request';
import { WebhookSecretBox } from './webhook.secret-box';
import { send, SendResult } from './webhook.sender';
import { DeliveryStats, DeliveryView, toDeliveryView, toWebhookView, WebhookView } from './webhook.views';
import { WebhookDeliveryWorker } from './webhook-delivery.worker';
import { checkWebhookUrl, parseAllowlistInput } from './webhook.destinations';

export interface CreateWebhookInput {
  name: string;
  url: string;
  format: WebhookFormat;
  events: string[];
  environments?: string[];
  secret?: string;
  enabled?: boolean;
}

export type UpdateWebhookInput = Partial<Omit<CreateWebhookInput, 'environments'>> & {
  environments?: string[] | null;
};

@Injectable()
export class WebhooksService {
  private readonly box: WebhookSecretBox;

  constructor(
    private readonly dataSource: DataSource,
    private readonly tx: TransactionRunner,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly worker: WebhookDeliveryWorker,
  ) {
    this.box = new WebhookSecretBox(config.secret);
  }

  /** Returns the signing secret once, in this response only. */
  async create(actor: string, input: CreateWebhookInput): Promise<WebhookView & { secret: string }> {
    const url = await checkWebhookUrl(this.dataSource.manager, input.url);
    const secret = input.secret ?? WebhookSecretBox.generate();
    return this.tx.run(async (tx) => {
      const head = await tx.manager
        .createQueryBuilder(EventEntity, 'e')
        .select('MAX(e.seq)', 'max')
        .getRawOne<{ max: number | string | null }>();
      const id = randomUUID();
      const enabled = input.enabled ?? true;
      const row = Object.assign(new WebhookSubscriptionEntity(), {
        id,
        name: input.name.trim(),
        url,
        format: input.format,
        events: input.events,
        environments: input.environments && input.environments.length > 0 ? input.environments : null,
        secretEnc: this.box.seal(id, secret),
        enabled,
        status: enabled ? 'active' : 'disabled',
        statusReason: enabled ? null : 'created disabled',
        statusChangedAt: null,
        afterSeq: Number(head?.max ?? 0),
        leaseOwner: null,
        leaseUntil: null,
        createdBy: actor,
        createdAt: tx.now,
        updatedAt: tx.now,
      });
      await tx.manager.insert(WebhookSubscriptionEntity, row);
      const data = { name: row.name, format: row.format, events: row.events, environments: row.environments };
      tx.audit({
        actor,
        action: 'webhook.created',
        entityType: 'webhook',
        entityId: id,
        data: { format: row.format, events: row.events },
      });
      tx.emit({ type: 'webhook.created', entityType: 'webhook', entityId: id, actor, data });
      return { ...toWebhookView(row, { pending: 0, failed: 0, lastSucceededAt: null }), secret };
    });
  }

  async list(): Promise<WebhookView[]> {
    const rows = await this.dataSource
      .getRepository(WebhookSubscriptionEntity)
      .find({ order: { createdAt: 'ASC', id: 'ASC' } });
    const stats = await this.stats(
      this.dataSource.manager,
      rows.map((r) => r.id),
    );
    return rows.map((r) =>
      toWebhookView(r, stats.get(r.id) ?? { pending: 0, failed: 0, lastSucceededAt: null }),
    );
  }

  async get(id: string): Promise<WebhookView> {
    const row = await this.find(this.dataSource.manager, id);
    const stats = await this.stats(this.dataSource.manager, [id]);
    return toWebhookView(row, stats.get(id) ?? { pending: 0, failed: 0, lastSucceededAt: null });
  }

  async update(actor: string, id: string, patch: UpdateWebhookInput): Promise<WebhookView> {
    const url =
      patch.url === undefined ? undefined : await checkWebhookUrl(this.dataSource.manager, patch.url);
    const view = await this.tx.run(async (tx) => {
      const row = await this.find(tx.manager, id);
      const changed: string[] = [];
      const set = <K extends keyof WebhookSubscriptionEntity>(
        field: string,
        key: K,
        value: WebhookSubscriptionEntity[K],
      ) => {
        row[key] = value;
        changed.push(field);
      };
      if (patch.name !== undefined) set('name', 'name', patch.name.trim());
      if (url !== undefined) set('url', 'url', url);
      if (patch.format !== undefined) set('format', 'format', patch.format);
      if (patch.events !== undefined) set('events', 'events', patch.events);
      if (patch.environments !== undefined) {
        set(
          'environments',
          'environments',
          patch.environments && patch.environments.length > 0 ? patch.environments : null,
        );
      }
      if (patch.secret !== undefined) set('secret', 'secretEnc', this.box.seal(id, patch.secret));
      if (patch.enabled !== undefined) {
        changed.push('enabled');
        if (patch.enabled && (!row.enabled || row.status !== 'active')) {
          // Enabling is also how an admin acknowledges a failing or gone receiver.
          Object.assign(row, {
            enabled: true,
            status: 'active',
            statusReason: null,
            statusChangedAt: tx.now,
          });
        } else if (!patch.enabled && row.enabled) {
          Object.assign(row, {
            enabled: false,
            status: 'disabled',
            statusReason: 'disabled by an admin',
            statusChangedAt: tx.now,
          });
        }
      }
      row.updatedAt = tx.now;
      await tx.manager.save(WebhookSubscriptionEntity, row);
      tx.audit({ actor, action: 'webhook.updated', entityType: 'webhook', entityId: id, data: { changed } });
      tx.emit({
        type: 'webhook.updated',
        entityType: 'webhook',
        entityId: id,
        actor,
        data: { changed, enabled: row.enabled },
      });
      const stats = await this.stats(tx.manager, [id]);
      return toWebhookView(row, stats.get(id) ?? { pending: 0, failed: 0, lastSucceededAt: null });
    });
    this.worker.poke();
    return view;
  }

  async remove(actor: string, id: string): Promise<void> {
    await this.tx.run(async (tx) => {
      await this.find(tx.manager, id);
      const deliveries = tx.manager
        .createQueryBuilder(WebhookDeliveryEntity, 'd')
        .select('d.id')
        .where('d.subscription_id = :id');
      await tx.manager
        .createQueryBuilder()
        .delete()
        .from(WebhookDeliveryAttemptEntity)
        .where(`delivery_id IN (${deliveries.getQuery()})`, { id })
        .execute();
      await tx.manager.delete(WebhookDeliveryEntity, { subscriptionId: id });
      await tx.manager.delete(WebhookSubscriptionEntity, { id });
      tx.audit({ actor, action: 'webhook.deleted', entityType: 'webhook', entityId: id });
      tx.emit({ type: 'webhook.deleted', entityType: 'webhook', entityId: id, actor });
    });
  }

  async getAllowlist(): Promise<Allowlist> {
    return loadAllowlist(this.dataSource.manager);
  }

  async setAllowlist(
    actor: string,
    input: { hosts: string[]; networks: string[]; allowPublic?: boolean },
  ): Promise<Allowlist> {
    const { hosts, networks } = parseAllowlistInput(input);
    const allowlist: Allowlist = { hosts, networks, allowPublic: input.allowPublic ?? true };
    await this.tx.run(async (tx) => {
      await saveAllowlist(tx.manager, allowlist, actor, tx.now);
      tx.audit({
        actor,
        action: 'webhook.allowlist_updated',
        entityType: 'webhook_allowlist',
        entityId: 'allowlist',
        data: { ...allowlist },
      });
      tx.emit({
        type: 'webhook.allowlist_updated',
        entityType: 'webhook_allowlist',
        entityId: 'allowlist',
        actor,
        data: { ...allowlist },
      });
    });
    return allowlist;
  }

  async deliveries(
    id: string,
    q: { status?: DeliveryStatus; cursor?: string; limit?: number },
  ): Promise<{ items: DeliveryView[]; nextCursor?: string }> {
    await this.find(this.dataSource.manager, id);
    const limit = q.limit ?? 50;
    const before = decodeCursor(q.cursor, isNumber);
    const qb = this.dataSource
      .getRepository(WebhookDeliveryEntity)
      .createQueryBuilder('d')
      .where('d.subscription_id = :id', { id })
      .orderBy('d.event_seq', 'DESC')
      .limit(limit + 1);
    if (q.status) qb.andWhere('d.status = :status', { status: q.status });
    if (before !== undefined) qb.andWhere('d.event_seq < :before', { before });
    const rows = await qb.getMany();
    const page = rows.slice(0, limit);
    const items = await this.withAttempts(this.dataSource.manager, page);
    return rows.length > limit
      ? { items, nextCursor: encodeCursor(page[page.length - 1].eventSeq) }
      : { items };
  }

  /** Sends the delivery again (same event id), now and in its turn: a given-up delivery gets a fresh set of retries. */
  async redeliver(actor: string, id: string, deliveryId: string): Promise<DeliveryView> {
    const view = await this.tx.run(async (tx) => {
      await this.find(tx.manager, id);
      const d = await tx.manager.findOne(WebhookDeliveryEntity, {
        where: { id: deliveryId, subscriptionId: id },
      });
      if (!d) throw notFound('WEBHOOK.DELIVERY_NOT_FOUND', `No delivery ${deliveryId} for webhook ${id}`);
      Object.assign(d, { status: 'pending', attempts: 0, nextAttemptAt: tx.now, completedAt: null });
      await tx.manager.save(WebhookDeliveryEntity, d);
      const data = { deliveryId, eventId: d.eventId };
      tx.audit({ actor, action: 'webhook.redelivery_requested', entityType: 'webhook', entityId: id, data });
      return (await this.withAttempts(tx.manager, [d]))[0];
    });
    this.worker.poke();
    return view;
  }

  /** Sends a signed `webhook.ping` now, outside the queue, and reports what the receiver answered. */
  async ping(actor: string, id: string): Promise<{ delivered: boolean } & Omit<SendResult, 'refused'>> {
    const { row, allowlist } = await this.tx.run(async (tx) => ({
      row: await this.find(tx.manager, id),
      allowlist: await loadAllowlist(tx.manager),
    }));
    const now = this.clock.now();
    const event = {
      id: randomUUID(),
      type: 'webhook.ping',
      entityType: 'webhook',
      entityId: id,
      actor,
      occurredAt: now,
      data: { webhookId: id, name: row.name },
    };
    const secret = this.box.open(id, row.secretEnc);
    const { body, headers } = buildRequest(row.format, secret, event, this.config.publicUrl, now, {
      deliveryId: event.id,
      attempt: 1,
    });
    const r = await send(row.url, headers, body, new DestinationPolicy(allowlist));
    return {
      delivered: r.statusCode !== null && r.statusCode >= 200 && r.statusCode < 300,
      statusCode: r.statusCode,
      latencyMs: r.latencyMs,
      error: r.error,
      responseBody: r.responseBody,
    };
  }

  private async find(manager: EntityManager, id: string): Promise<WebhookSubscriptionEntity> {
    const row = await manager.findOne(WebhookSubscriptionEntity, { where: { id } });
    if (!row) throw notFound('WEBHOOK.NOT_FOUND', `No webhook ${id}`);
    return row;
  }

  private async stats(manager: EntityManager, ids: string[]): Promise<Map<string, DeliveryStats>> {
    const out = new Map<string, DeliveryStats>();
    if (ids.length === 0) return out;
    const rows = await manager
      .createQueryBuilder(WebhookDeliveryEntity, 'd')
      .select('d.subscription_id', 'sid')
      .addSelect('d.status', 'status')
      .addSelect('COUNT(*)', 'n')
      .addSelect('MAX(d.completed_at)', 'last')
      .where('d.subscription_id IN (:...ids)', { ids })
      .groupBy('d.subscription_id')
      .addGroupBy('d.status')
      .getRawMany<{ sid: string; status: DeliveryStatus; n: number | string; last: string | Date | null }>();
    for (const id of ids) out.set(id, { pending: 0, failed: 0, lastSucceededAt: null });
    for (const r of rows) {
      const s = out.get(r.sid)!;
      if (r.status === 'pending') s.pending = Number(r.n);
      if (r.status === 'failed') s.failed = Number(r.n);
      if (r.status === 'succeeded' && r.last) s.lastSucceededAt = toDate(r.last);
    }
    return out;
  }

  private async withAttempts(manager: EntityManager, rows: WebhookDeliveryEntity[]): Promise<DeliveryView[]> {
    if (rows.length === 0) return [];
    const attempts = await manager.find(WebhookDeliveryAttemptEntity, {
      where: { deliveryId: In(rows.map((r) => r.id)) },
      order: { at: 'ASC', attempt: 'ASC' },
    });
    return rows.map((r) =>
      toDeliveryView(
        r,
        attempts.filter((a) => a.deliveryId === r.id),
      ),
    );
  }
}

// Raw aggregates come back as text on SQLite (UTC, no zone) and as Date on PostgreSQL.
function toDate(v: string | Date): Date {
  if (v instanceof Date) return v;
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v.replace(' ', 'T')}Z`);
}
