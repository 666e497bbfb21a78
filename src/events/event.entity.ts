import { Column, Entity, PrimaryColumn } from 'typeorm';

// The outbox. `seq` is allocated under the ledger lock at commit time, so it grows in commit order and a reader
// that tails `seq > cursor` never skips an event that commits late.
@Entity('events')
export class EventEntity {
  @PrimaryColumn({ type: 'integer' })
  seq!: number;

  /** Stable event id (UUID): receivers deduplicate on it. */
  @Column({ type: 'varchar', length: 36, unique: true })
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  type!: string;

  @Column({ name: 'entity_type', type: 'varchar', length: 50 })
  entityType!: string;

  @Column({ name: 'entity_id', type: 'varchar', length: 300 })
  entityId!: string;

  @Column({ type: 'varchar', length: 80 })
  actor!: string;

  @Column({ name: 'occurred_at', type: Date })
  occurredAt!: Date;

  @Column({ type: 'simple-json' })
  data!: Record<string, unknown>;
}

// Durable read position of each outbox consumer (webhooks, ...), so none loses an event across a restart.
@Entity('event_consumers')
export class EventConsumerEntity {
  @PrimaryColumn({ type: 'varchar', length: 100 })
  name!: string;

  @Column({ type: 'integer' })
  position!: number;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
