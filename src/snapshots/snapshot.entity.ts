import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A tenant's rows before a destructive step: canonical JSON, SHA-256, sealed with the tenant's data key. */
@Entity('tenant_snapshots')
export class TenantSnapshotEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'tenant_id', type: 'varchar', length: 128 })
  tenantId!: string;

  @Column({ name: 'change_request_id', type: 'varchar', length: 36, nullable: true })
  changeRequestId!: string | null;

  /** What the snapshot was taken for, e.g. `tenant.soft_delete`. */
  @Column({ type: 'varchar', length: 100 })
  reason!: string;

  /** SHA-256 (hex) of the plaintext canonical JSON; checked on restore. */
  @Column({ type: 'varchar', length: 64 })
  hash!: string;

  /** base64 of iv (12) | tag (16) | AES-256-GCM ciphertext. */
  @Column({ type: 'text' })
  sealed!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}

/** The per-tenant data key, wrapped by the key derived from WAVEGATE_SECRET. Purge nulls it (crypto-shredding). */
@Entity('tenant_keys')
export class TenantKeyEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'varchar', length: 128 })
  tenantId!: string;

  @Column({ name: 'wrapped_key', type: 'text', nullable: true })
  wrappedKey!: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'destroyed_at', type: Date, nullable: true })
  destroyedAt!: Date | null;
}

/** What a purge erased; ids, counts and hashes only, no personal data. */
@Entity('erasure_receipts')
export class ErasureReceiptEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'varchar', length: 128 })
  tenantId!: string;

  @Column({ name: 'change_request_id', type: 'varchar', length: 36 })
  changeRequestId!: string;

  @Column({ type: 'simple-json' })
  receipt!: Record<string, unknown>;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
