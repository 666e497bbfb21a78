import { Column, Entity, PrimaryColumn } from 'typeorm';

export const TENANT_TIERS = ['internal', 'standard', 'key'] as const;
export type TenantTier = (typeof TENANT_TIERS)[number];
export const TENANT_STATUSES = ['active', 'soft_deleted', 'purged'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];
export const INSTALLATION_STATUSES = ['active', 'deactivated'] as const;
export type InstallationStatus = (typeof INSTALLATION_STATUSES)[number];

/** A customer site. `id` is the customer's own identifier; status changes only through operations. */
@Entity('tenants')
export class TenantEntity {
  @PrimaryColumn({ type: 'varchar', length: 128 })
  id!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'varchar', length: 16 })
  tier!: TenantTier;

  @Column({ type: 'varchar', length: 64, nullable: true })
  region!: string | null;

  @Column({ type: 'simple-json' })
  attributes!: Record<string, unknown>;

  @Column({ type: 'varchar', length: 16 })
  status!: TenantStatus;

  @Column({ name: 'soft_deleted_at', type: Date, nullable: true })
  softDeletedAt!: Date | null;

  @Column({ name: 'purge_after', type: Date, nullable: true })
  purgeAfter!: Date | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}

/** The app catalogue. A `legacy` app is one being retired (the outage's "insight"). */
@Entity('apps')
export class AppEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  key!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'boolean', default: false })
  legacy!: boolean;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}

/** An app in a tenant: `installation:<tenantId>/<appKey>`. `data` stands for the app's data in that tenant. */
@Entity('installations')
export class InstallationEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'varchar', length: 128 })
  tenantId!: string;

  @PrimaryColumn({ name: 'app_key', type: 'varchar', length: 64 })
  appKey!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: InstallationStatus;

  @Column({ type: 'simple-json' })
  data!: Record<string, unknown>;

  @Column({ name: 'deactivated_at', type: Date, nullable: true })
  deactivatedAt!: Date | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
