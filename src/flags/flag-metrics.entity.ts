import { Column, Entity, PrimaryColumn } from 'typeorm';

// Hourly buckets of SDK-reported evaluations, per flag, environment and application.
@Entity('flag_metrics')
export class FlagMetricEntity {
  @PrimaryColumn({ name: 'flag_key', type: 'varchar', length: 100 })
  flagKey!: string;

  @PrimaryColumn({ type: 'varchar', length: 100 })
  environment!: string;

  @PrimaryColumn({ name: 'app_name', type: 'varchar', length: 200 })
  appName!: string;

  @PrimaryColumn({ name: 'hour_start', type: Date })
  hourStart!: Date;

  /** '' for the flag's yes/no row; a variant's name for that variant's count (in `yes`). */
  @PrimaryColumn({ type: 'varchar', length: 100 })
  variant!: string;

  @Column({ type: 'integer', default: 0 })
  yes!: number;

  @Column({ type: 'integer', default: 0 })
  no!: number;
}

@Entity('client_instances')
export class ClientInstanceEntity {
  @PrimaryColumn({ name: 'app_name', type: 'varchar', length: 200 })
  appName!: string;

  @PrimaryColumn({ name: 'instance_id', type: 'varchar', length: 200 })
  instanceId!: string;

  @PrimaryColumn({ type: 'varchar', length: 100 })
  environment!: string;

  @Column({ name: 'sdk_version', type: 'varchar', length: 100, nullable: true })
  sdkVersion!: string | null;

  @Column({ type: 'simple-json' })
  strategies!: string[];

  @Column({ name: 'interval_ms', type: 'integer', nullable: true })
  intervalMs!: number | null;

  @Column({ name: 'started_at', type: Date, nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'registered_at', type: Date, nullable: true })
  registeredAt!: Date | null;

  @Column({ name: 'last_seen_at', type: Date })
  lastSeenAt!: Date;
}

// Error reports from SDKs (`POST /api/client/errors`). The rollout engine reads them as signals through
// `FlagErrorReportsService` (see docs/flags.md).
@Entity('flag_error_reports')
export class FlagErrorReportEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  environment!: string;

  @Column({ name: 'flag_key', type: 'varchar', length: 100 })
  flagKey!: string;

  @Column({ name: 'tenant_id', type: 'varchar', length: 200, nullable: true })
  tenantId!: string | null;

  @Column({ type: 'integer' })
  count!: number;

  @Column({ type: 'text' })
  message!: string;

  @Column({ name: 'app_name', type: 'varchar', length: 200, nullable: true })
  appName!: string | null;

  @Column({ name: 'token_id', type: 'varchar', length: 36 })
  tokenId!: string;

  @Column({ name: 'received_at', type: Date })
  receivedAt!: Date;
}
