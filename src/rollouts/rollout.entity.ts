import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { PlannedTarget } from '../operations/operation.types';
import type { HaltPolicy } from '../change-requests/domain/halt-policy';

// Durable execution state of a change request (docs/decisions/0005-wave-engine.md). The CR's status stays in
// `change_requests`; these tables hold where the rollout is, who runs it (the lease) and each target's outcome.

export type RolloutPhase = 'apply' | 'undo';
export type WaveStatus = 'pending' | 'running' | 'completed';
export const TARGET_STATUSES = [
  'pending',
  'running',
  'succeeded',
  'failed',
  'skipped',
  'rolled_back',
] as const;
export type TargetStatus = (typeof TARGET_STATUSES)[number];

/** One row per executed CR: the lease, the bake deadline and what a checker acknowledged on resume. */
@Entity('rollouts')
export class RolloutEntity {
  @PrimaryColumn({ name: 'change_request_id', type: 'varchar', length: 36 })
  changeRequestId!: string;

  @Column({ type: 'integer' })
  revision!: number;

  @Column({ type: 'varchar', length: 100 })
  operation!: string;

  /** The plan's params, as parsed by the operation when the plan was built. */
  @Column({ type: 'simple-json' })
  params!: Record<string, unknown>;

  @Column({ name: 'halt_policy', type: 'simple-json' })
  haltPolicy!: HaltPolicy;

  @Column({ type: 'varchar', length: 10 })
  phase!: RolloutPhase;

  @Column({ name: 'bake_seconds', type: 'integer' })
  bakeSeconds!: number;

  /** The next wave may not start before this (end of the bake after the previous wave). */
  @Column({ name: 'next_wave_at', type: Date, nullable: true })
  nextWaveAt!: Date | null;

  @Column({ name: 'lease_owner', type: 'varchar', length: 100, nullable: true })
  leaseOwner!: string | null;

  @Column({ name: 'lease_until', type: Date, nullable: true })
  leaseUntil!: Date | null;

  /** HaltAcknowledgement as JSON ({at, failedByWave}) once a checker resumed a halted rollout. */
  @Column({ type: 'simple-json', nullable: true })
  acknowledged!: { at: string; failedByWave: Record<number, number> } | null;

  @Column({ name: 'halt_rule', type: 'varchar', length: 40, nullable: true })
  haltRule!: string | null;

  /** The latest halt's reason; kept after a resume so the operator can still read why it stopped. */
  @Column({ name: 'halt_reason', type: 'text', nullable: true })
  haltReason!: string | null;

  @Column({ name: 'started_at', type: Date })
  startedAt!: Date;

  @Column({ name: 'finished_at', type: Date, nullable: true })
  finishedAt!: Date | null;
}

@Entity('rollout_waves')
export class RolloutWaveEntity {
  /** `<crId>:<phase>:<index>` */
  @PrimaryColumn({ type: 'varchar', length: 60 })
  id!: string;

  @Column({ name: 'change_request_id', type: 'varchar', length: 36 })
  changeRequestId!: string;

  @Column({ type: 'varchar', length: 10 })
  phase!: RolloutPhase;

  /** 1-based, as in the plan. */
  @Column({ name: 'wave_index', type: 'integer' })
  waveIndex!: number;

  @Column({ type: 'integer' })
  size!: number;

  @Column({ type: 'varchar', length: 16 })
  status!: WaveStatus;

  @Column({ name: 'started_at', type: Date, nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: Date, nullable: true })
  finishedAt!: Date | null;
}

@Entity('rollout_targets')
export class RolloutTargetEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'change_request_id', type: 'varchar', length: 36 })
  changeRequestId!: string;

  @Column({ type: 'varchar', length: 10 })
  phase!: RolloutPhase;

  @Column({ name: 'wave_index', type: 'integer' })
  waveIndex!: number;

  /** Order inside the wave (plan order). */
  @Column({ type: 'integer' })
  position!: number;

  @Column({ name: 'target_type', type: 'varchar', length: 20 })
  targetType!: string;

  @Column({ name: 'target_id', type: 'varchar', length: 200 })
  targetId!: string;

  @Column({ name: 'tenant_id', type: 'varchar', length: 128 })
  tenantId!: string;

  /** The planned target (canonical plan entry) the engine compares the inventory with. */
  @Column({ type: 'simple-json' })
  planned!: PlannedTarget;

  @Column({ type: 'varchar', length: 16 })
  status!: TargetStatus;

  @Column({ type: 'integer' })
  attempts!: number;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  /** `crId:revision:type:id` (apply) or `crId:revision:undo:type:id`; unique. */
  @Column({ name: 'idempotency_key', type: 'varchar', length: 300 })
  idempotencyKey!: string;

  @Column({ name: 'snapshot_id', type: 'varchar', length: 36, nullable: true })
  snapshotId!: string | null;

  @Column({ name: 'started_at', type: Date, nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: Date, nullable: true })
  finishedAt!: Date | null;
}
