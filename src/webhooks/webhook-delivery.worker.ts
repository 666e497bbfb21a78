import { randomUUID } from 'node:crypto';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { TransactionRunner, Tx } from '../common/transaction';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { EventEntity } from '../events/event.entity';
import { AttemptOutcome, nextStep } from './domain/backoff';
import { DestinationPolicy } from './domain/destination.policy';
import { WebhookEvent } from './domain/payload.types';
import { loadAllowlist } from './webhook.allowlist.store';
import {
  WebhookDeliveryAttemptEntity,
  WebhookDeliveryEntity,
  WebhookSubscriptionEntity,
} from './webhook.entity';
import { buildRequest } from './webhook.request';
import { WebhookSecretBox } from './webhook.secret-box';
import { WebhookEventEnricher } from './webhook-event.enricher';
import { send, SendResult, TIMEOUT_MS } from './webhook.sender';

const TICK_MS = 250;
const MAX_CONCURRENT = 16;
// Longer than one attempt can take; after a crash another process takes the subscription over when it expires.
const LEASE_MS = TIMEOUT_MS * 12;

interface Job {
  sub: WebhookSubscriptionEntity;
  delivery: WebhookDeliveryEntity;
  event: WebhookEvent;
  secret: string;
  policy: DestinationPolicy;
}

/**
 * Sends pending deliveries. Per subscription strictly in event order: only the oldest pending delivery (the head) is
 * ever sent, under a lease on the subscription row, so the next one waits until it succeeded or was given up, even
 * with several replicas. Subscriptions are independent: a slow receiver holds up only its own queue. Nothing here
 * runs inside the transaction of the request that caused the event; that request only wrote to the outbox.
 *
 * Due times are read from the injected Clock (tests advance a FakeClock); the tick that looks for due work is real
 * time, so a retry is sent at most TICK_MS after it falls due.
 */
@Injectable()
export class WebhookDeliveryWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookDeliveryWorker.name);
  private readonly owner = randomUUID();
  private readonly box: WebhookSecretBox;
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer?: NodeJS.Timeout;
  private scanning?: Promise<void>;
  private again = false;
  private started = false;
  private stopped = false;

  constructor(
    private readonly tx: TransactionRunner,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly enricher: WebhookEventEnricher,
  ) {
    this.box = new WebhookSecretBox(config.secret);
  }

  onApplicationBootstrap(): void {
    this.started = true;
    this.timer = setInterval(() => this.poke(), TICK_MS);
    this.timer.unref();
    this.poke();
  }

  // Before TypeORM closes its connections (onApplicationShutdown): finish what is in flight and record it.
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.scanning;
    await Promise.all(this.inFlight.values());
  }

  /** Looks for due work now; scans never overlap, and a poke during a scan causes one more. */
  poke(): void {
    if (!this.started || this.stopped) return;
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = this.scan()
      .catch((e: unknown) => this.logger.error(`webhook scan failed: ${String(e)}`))
      .finally(() => {
        this.scanning = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.poke();
        }
      });
  }

  /** Resolves when nothing is due or in flight (tests; the clock decides what is due). */
  async settle(timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      this.poke();
      await this.scanning;
      await Promise.all(this.inFlight.values());
      if (this.inFlight.size === 0 && !this.scanning && !(await this.anyDue())) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('webhook deliveries did not settle');
  }

  private async anyDue(): Promise<boolean> {
    return this.tx.run(async (tx) => (await this.dueHeads(tx.manager, this.clock.now())).length > 0);
  }

  /** The oldest pending delivery of each enabled subscription, when it is due. */
  private async dueHeads(manager: EntityManager, now: Date): Promise<WebhookDeliveryEntity[]> {
    const heads = await manager
      .createQueryBuilder(WebhookDeliveryEntity, 'd')
      .innerJoin(WebhookSubscriptionEntity, 's', 's.id = d.subscription_id')
      .select('d.subscription_id', 'sid')
      .addSelect('MIN(d.event_seq)', 'seq')
      .where("d.status = 'pending'")
      .andWhere('s.enabled = :enabled', { enabled: true })
      .groupBy('d.subscription_id')
      .getRawMany<{ sid: string; seq: number | string }>();
    const due: WebhookDeliveryEntity[] = [];
    for (const h of heads) {
      const d = await manager.findOne(WebhookDeliveryEntity, {
        where: { subscriptionId: h.sid, eventSeq: Number(h.seq), status: 'pending' },
      });
      if (d && (!d.nextAttemptAt || d.nextAttemptAt.getTime() <= now.getTime())) due.push(d);
    }
    return due;
  }

  private async scan(): Promise<void> {
    const jobs = await this.tx.run(async (tx) => {
      const heads = (await this.dueHeads(tx.manager, tx.now)).filter(
        (d) => !this.inFlight.has(d.subscriptionId),
      );
      if (heads.length === 0) return [];
      const allowlist = await loadAllowlist(tx.manager);
      const policy = new DestinationPolicy(allowlist);
      const out: Job[] = [];
      for (const head of heads.slice(0, MAX_CONCURRENT - this.inFlight.size)) {
        if (!(await this.claim(tx, head.subscriptionId))) continue;
        // Re-read after the lease: on PostgreSQL the heads were read before the lease's row lock, so a send that
        // finished meanwhile (and released the lease) may already have completed this delivery.
        const d = await tx.manager.findOne(WebhookDeliveryEntity, {
          where: { id: head.id, status: 'pending' },
        });
        if (!d) {
          await tx.manager.update(
            WebhookSubscriptionEntity,
            { id: head.subscriptionId, leaseOwner: this.owner },
            { leaseOwner: null, leaseUntil: null },
          );
          this.again = true;
          continue;
        }
        // Our lease UPDATE holds the subscription row, and a finishing send updates that row last: so it either
        // committed before the re-read above, or it is still in flight now (this process re-enters its own lease).
        if (this.inFlight.has(head.subscriptionId)) continue;
        const sub = await tx.manager.findOneOrFail(WebhookSubscriptionEntity, {
          where: { id: d.subscriptionId },
        });
        const e = await tx.manager.findOne(EventEntity, { where: { id: d.eventId } });
        if (!e) {
          // Cannot happen while the outbox keeps every event; if it ever does, say so instead of retrying forever.
          await this.record(tx, { sub, delivery: d }, missingEvent(), { kind: 'failed' }, true);
          continue;
        }
        const event: WebhookEvent = {
          id: e.id,
          type: e.type,
          entityType: e.entityType,
          entityId: e.entityId,
          actor: e.actor,
          occurredAt: e.occurredAt,
          data: e.data,
        };
        let secret: string;
        try {
          secret = this.box.open(sub.id, sub.secretEnc);
        } catch (err) {
          // WAVEGATE_SECRET changed since the secret was sealed: this subscription cannot sign until an admin sets
          // a new secret (PATCH), but it must not hold up the others.
          this.logger.error(`webhook ${sub.id}: cannot open its signing secret: ${String(err)}`);
          await tx.manager.update(
            WebhookSubscriptionEntity,
            { id: sub.id },
            { leaseOwner: null, leaseUntil: null },
          );
          continue;
        }
        out.push({ sub, delivery: d, event, secret, policy });
      }
      return out;
    });
    const crJobs = jobs.filter((j) => j.event.type.startsWith('change_request.'));
    if (crJobs.length > 0) {
      try {
        const enriched = await this.tx.read((m) =>
          this.enricher.enrich(
            m,
            crJobs.map((j) => j.event),
          ),
        );
        for (const j of crJobs) {
          const e = enriched.get(j.event.id);
          if (!e) continue;
          // Slack gets everything a message shows; json gets the committed event plus the people by name.
          j.event =
            j.sub.format === 'slack' ? e : { ...j.event, data: { ...j.event.data, people: e.data.people } };
        }
      } catch (e) {
        // A nicer message is not worth a stuck queue: send what the event says.
        this.logger.warn(`webhook enrichment failed, sending events as they are: ${String(e)}`);
      }
    }
    for (const job of jobs) {
      const p = this.deliver(job)
        .catch((e: unknown) => this.logger.error(`webhook delivery ${job.delivery.id} failed: ${String(e)}`))
        .finally(() => {
          this.inFlight.delete(job.sub.id);
          this.poke();
        });
      this.inFlight.set(job.sub.id, p);
    }
  }

  /** Takes the subscription's lease; false when another live process holds it. */
  private async claim(tx: Tx, subscriptionId: string): Promise<boolean> {
    const r = await tx.manager
      .createQueryBuilder()
      .update(WebhookSubscriptionEntity)
      .set({ leaseOwner: this.owner, leaseUntil: new Date(tx.now.getTime() + LEASE_MS) })
      .where('id = :id', { id: subscriptionId })
      .andWhere('(lease_owner IS NULL OR lease_owner = :me OR lease_until < :now)', {
        me: this.owner,
        now: tx.now,
      })
      .execute();
    return (r.affected ?? 0) > 0;
  }

  private async deliver(job: Job): Promise<void> {
    const attempt = job.delivery.attempts + 1;
    const { body, headers } = buildRequest(
      job.sub.format,
      job.secret,
      job.event,
      this.config.publicUrl,
      this.clock.now(),
      {
        deliveryId: job.delivery.id,
        attempt,
      },
      { approvalButtons: this.config.slack !== undefined },
    );
    const result = await send(job.sub.url, headers, body, job.policy);
    const outcome: AttemptOutcome =
      result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300
        ? { kind: 'delivered' }
        : result.statusCode === 410
          ? { kind: 'gone' }
          : { kind: 'failed' };
    await this.tx.run((tx) => this.record(tx, job, result, outcome, false));
  }

  private async record(
    tx: Tx,
    job: Pick<Job, 'sub' | 'delivery'>,
    result: SendResult,
    outcome: AttemptOutcome,
    giveUpNow: boolean,
  ): Promise<void> {
    const d = await tx.manager.findOne(WebhookDeliveryEntity, { where: { id: job.delivery.id } });
    const sub = await tx.manager.findOne(WebhookSubscriptionEntity, { where: { id: job.sub.id } });
    if (!d || !sub) return; // deleted while we were sending
    const attempt = d.attempts + 1;
    await tx.manager.insert(WebhookDeliveryAttemptEntity, {
      id: randomUUID(),
      deliveryId: d.id,
      attempt,
      at: tx.now,
      statusCode: result.statusCode,
      latencyMs: result.latencyMs,
      error: result.error?.slice(0, 500) ?? null,
      responseBody: result.responseBody,
    });
    const step = giveUpNow ? ({ status: 'failed', disable: false } as const) : nextStep(attempt, outcome);
    d.attempts = attempt;
    d.lastAttemptAt = tx.now;
    d.lastStatusCode = result.statusCode;
    d.lastError = result.error?.slice(0, 500) ?? null;
    d.status = step.status;
    d.nextAttemptAt = step.status === 'pending' ? new Date(tx.now.getTime() + step.retryInMs) : null;
    d.completedAt = step.status === 'pending' ? null : tx.now;
    await tx.manager.save(WebhookDeliveryEntity, d);

    const what = result.statusCode !== null ? `HTTP ${result.statusCode}` : (result.error ?? 'no answer');
    if (step.status === 'succeeded' && sub.status === 'failing') {
      this.setStatus(tx, sub, 'active', null, 'webhook.recovered');
    } else if (step.status === 'failed' && step.disable) {
      sub.enabled = false;
      this.setStatus(tx, sub, 'disabled', 'the receiver answered 410 Gone', 'webhook.disabled');
    } else if (step.status === 'failed') {
      const reason = `gave up delivering ${d.eventType} (event ${d.eventId}) after ${attempt} attempts; last: ${what}`;
      this.setStatus(tx, sub, 'failing', reason.slice(0, 500), 'webhook.failing');
    }
    sub.leaseOwner = null;
    sub.leaseUntil = null;
    await tx.manager.save(WebhookSubscriptionEntity, sub);
  }

  private setStatus(
    tx: Tx,
    sub: WebhookSubscriptionEntity,
    status: WebhookSubscriptionEntity['status'],
    reason: string | null,
    type: string,
  ): void {
    sub.status = status;
    sub.statusReason = reason;
    sub.statusChangedAt = tx.now;
    sub.updatedAt = tx.now;
    const data = { name: sub.name, status, reason };
    tx.audit({ actor: 'system', action: type, entityType: 'webhook', entityId: sub.id, data: { status } });
    tx.emit({ type, entityType: 'webhook', entityId: sub.id, actor: 'system', data });
  }
}

const missingEvent = (): SendResult => ({
  statusCode: null,
  latencyMs: 0,
  error: 'the event is no longer in the outbox',
  responseBody: null,
  refused: false,
});
