import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { SignalSeverity } from '../change-requests/domain/halt-policy';

/** An error or health observation (DESIGN.md "Domain"): from executors, monitoring, SDK error reports. */
@Entity('signals')
export class SignalEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  source!: string;

  @Column({ type: 'varchar', length: 16 })
  severity!: SignalSeverity;

  /** `firing`, or `resolved` (an Alertmanager resolution: recorded, never counted). */
  @Column({ type: 'varchar', length: 16 })
  state!: 'firing' | 'resolved';

  @Column({ name: 'tenant_id', type: 'varchar', length: 128, nullable: true })
  tenantId!: string | null;

  @Column({ name: 'change_request_id', type: 'varchar', length: 36, nullable: true })
  changeRequestId!: string | null;

  @Column({ name: 'flag_key', type: 'varchar', length: 200, nullable: true })
  flagKey!: string | null;

  /**
   * The environment the signal comes from (an SDK error report: its client token's). null = not said: it concerns
   * the flag in every environment. A signal naming an environment does not count against a CR acting in another.
   */
  @Column({ type: 'varchar', length: 100, nullable: true })
  environment!: string | null;

  @Column({ type: 'text' })
  message!: string;

  @Column({ type: 'integer' })
  count!: number;

  @Column({ type: Date })
  at!: Date;

  /** Who sent it (`token:<id>`, `system`). */
  @Column({ name: 'recorded_by', type: 'varchar', length: 80 })
  recordedBy!: string;
}
