import { Column, Entity, PrimaryColumn } from 'typeorm';

// Append-only: rows are inserted by the transaction runner under the chain lock and never updated.
@Entity('audit_entries')
export class AuditEntryEntity {
  @PrimaryColumn({ type: 'integer' })
  seq!: number;

  @Column({ type: Date })
  at!: Date;

  @Column({ type: 'varchar', length: 80 })
  actor!: string;

  @Column({ type: 'varchar', length: 100 })
  action!: string;

  @Column({ name: 'entity_type', type: 'varchar', length: 50 })
  entityType!: string;

  @Column({ name: 'entity_id', type: 'varchar', length: 300 })
  entityId!: string;

  /** Canonical JSON text, hashed byte for byte. Ids and hashes only; no personal data. */
  @Column({ type: 'text' })
  data!: string;

  @Column({ name: 'prev_hash', type: 'varchar', length: 64 })
  prevHash!: string;

  @Column({ type: 'varchar', length: 64 })
  hash!: string;
}

// The newest seq and hash of a chain, written with each append: deleting the last rows of the chain is detected.
@Entity('ledger_heads')
export class LedgerHeadEntity {
  @PrimaryColumn({ type: 'varchar', length: 50 })
  name!: string;

  @Column({ type: 'integer' })
  seq!: number;

  @Column({ type: 'varchar', length: 64 })
  hash!: string;
}
