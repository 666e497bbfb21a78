import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type WebhookFormat = 'slack' | 'json';
/** `failing`: a delivery was given up after every retry; `disabled`: by an admin or by a 410 Gone. */
export type WebhookStatus = 'active' | 'failing' | 'disabled';
export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

@Entity('webhook_subscriptions')
export class WebhookSubscriptionEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'varchar', length: 2000 })
  url!: string;

  @Column({ type: 'varchar', length: 16 })
  format!: WebhookFormat;

  /** Exact event types or prefixes (`change_request.*`), or `*`. */
  @Column({ type: 'simple-json' })
  events!: string[];

  /** null: every environment. */
  @Column({ type: 'simple-json', nullable: true })
  environments!: string[] | null;

  /** AES-256-GCM under a key derived from WAVEGATE_SECRET (webhook.secret-box.ts). Never returned. */
  @Column({ name: 'secret_enc', type: 'text' })
  secretEnc!: string;

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  @Column({ type: 'varchar', length: 16 })
  status!: WebhookStatus;

  @Column({ name: 'status_reason', type: 'varchar', length: 500, nullable: true })
  statusReason!: string | null;

  @Column({ name: 'status_changed_at', type: Date, nullable: true })
  statusChangedAt!: Date | null;

  /** Only events after this outbox seq are delivered: a new subscription does not replay history. */
  @Column({ name: 'after_seq', type: 'integer' })
  afterSeq!: number;

  /** Which process is sending this subscription's head delivery, until when (one sender per subscription). */
  @Column({ name: 'lease_owner', type: 'varchar', length: 36, nullable: true })
  leaseOwner!: string | null;

  @Column({ name: 'lease_until', type: Date, nullable: true })
  leaseUntil!: Date | null;

  @Column({ name: 'created_by', type: 'varchar', length: 80 })
  createdBy!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}

@Entity('webhook_deliveries')
@Index(['subscriptionId', 'eventId'], { unique: true })
@Index(['subscriptionId', 'status', 'eventSeq'])
export class WebhookDeliveryEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'subscription_id', type: 'varchar', length: 36 })
  subscriptionId!: string;

  @Column({ name: 'event_id', type: 'varchar', length: 36 })
  eventId!: string;

  /** Delivery order within a subscription. */
  @Column({ name: 'event_seq', type: 'integer' })
  eventSeq!: number;

  @Column({ name: 'event_type', type: 'varchar', length: 100 })
  eventType!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: DeliveryStatus;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'next_attempt_at', type: Date, nullable: true })
  nextAttemptAt!: Date | null;

  @Column({ name: 'last_attempt_at', type: Date, nullable: true })
  lastAttemptAt!: Date | null;

  @Column({ name: 'last_status_code', type: 'integer', nullable: true })
  lastStatusCode!: number | null;

  @Column({ name: 'last_error', type: 'varchar', length: 500, nullable: true })
  lastError!: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'completed_at', type: Date, nullable: true })
  completedAt!: Date | null;
}

@Entity('webhook_delivery_attempts')
export class WebhookDeliveryAttemptEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Index()
  @Column({ name: 'delivery_id', type: 'varchar', length: 36 })
  deliveryId!: string;

  /** 1-based; a redelivery continues the count. */
  @Column({ type: 'integer' })
  attempt!: number;

  @Column({ type: Date })
  at!: Date;

  @Column({ name: 'status_code', type: 'integer', nullable: true })
  statusCode!: number | null;

  @Column({ name: 'latency_ms', type: 'integer' })
  latencyMs!: number;

  @Column({ type: 'varchar', length: 500, nullable: true })
  error!: string | null;

  /** At most 1 KiB of the receiver's answer. */
  @Column({ name: 'response_body', type: 'text', nullable: true })
  responseBody!: string | null;
}

/** Webhook-wide settings; one row, `allowlist`. */
@Entity('webhook_settings')
export class WebhookSettingEntity {
  @PrimaryColumn({ type: 'varchar', length: 50 })
  name!: string;

  @Column({ type: 'simple-json' })
  value!: Record<string, unknown>;

  @Column({ name: 'updated_by', type: 'varchar', length: 80 })
  updatedBy!: string;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
