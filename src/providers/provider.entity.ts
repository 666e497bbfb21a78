import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ProviderDefinition } from './domain/provider-definition';

/** A registered provider: changed only by an executed `provider.register` change request. */
@Entity('providers')
export class ProviderEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  name!: string;

  /** Bumped by every change; the version of each of its operations (so part of every plan that uses them). */
  @Column({ type: 'integer' })
  version!: number;

  /** The validated definition without the secret. */
  @Column({ type: 'simple-json' })
  definition!: ProviderDefinition;

  /** The shared secret, sealed (AES-256-GCM under a key derived from WAVEGATE_SECRET, AAD = the secret's id). */
  @Column({ name: 'secret_id', type: 'varchar', length: 36 })
  secretId!: string;

  @Column({ name: 'inventory_synced_at', type: Date, nullable: true })
  inventorySyncedAt!: Date | null;

  @Column({ name: 'inventory_error', type: 'text', nullable: true })
  inventoryError!: string | null;

  /** The change request that made the current version. */
  @Column({ name: 'change_request_id', type: 'varchar', length: 36 })
  changeRequestId!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}

/**
 * A provider's shared secret, sealed, stored when an admin proposes a provider (the change request names its id, so
 * the plan never shows the secret); the executed change request points the provider at it.
 */
@Entity('provider_secrets')
export class ProviderSecretEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 40 })
  provider!: string;

  @Column({ type: 'text' })
  sealed!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}

/**
 * Which tenants a provider's inventory brought in, and which of them the platform no longer lists: a removal is
 * marked (`missing_since`), never applied as a deletion (ADR 0016).
 */
@Entity('provider_tenants')
export class ProviderTenantEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  provider!: string;

  @PrimaryColumn({ name: 'tenant_id', type: 'varchar', length: 128 })
  tenantId!: string;

  @Column({ name: 'missing_since', type: Date, nullable: true })
  missingSince!: Date | null;

  /** App keys the platform stopped listing for this tenant (their installations are kept). */
  @Column({ name: 'missing_installations', type: 'simple-json' })
  missingInstallations!: string[];

  @Column({ name: 'last_seen_at', type: Date })
  lastSeenAt!: Date;
}
