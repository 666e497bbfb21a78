// A data connector's capture of one tenant's rows (src/connectors): it lives beside the tenant snapshots because it is
// sealed with the same per-tenant data key and shredded with them on purge, which snapshots owns.
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A tenant's rows read from the platform's database before a destructive operation: canonical JSON, SHA-256,
 * sealed with the tenant's data key like a tenant snapshot, and shredded with it on purge.
 */
@Entity('connector_captures')
@Index(['tenantId', 'connector', 'createdAt'])
export class ConnectorCaptureEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  connector!: string;

  @Column({ name: 'tenant_id', type: 'varchar', length: 128 })
  tenantId!: string;

  @Column({ name: 'change_request_id', type: 'varchar', length: 36, nullable: true })
  changeRequestId!: string | null;

  /** What it was taken before, e.g. `platform.purge (permanent_delete)`. */
  @Column({ type: 'varchar', length: 200 })
  reason!: string;

  /** SHA-256 (hex) of the plaintext canonical JSON; checked before any restore writes. */
  @Column({ type: 'varchar', length: 64 })
  hash!: string;

  @Column({ type: 'text' })
  sealed!: string;

  @Column({ name: 'row_count', type: 'integer' })
  rowCount!: number;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
