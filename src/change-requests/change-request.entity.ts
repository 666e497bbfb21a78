import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { CrStatus, OperationRisk } from './domain/lifecycle';

/** What the maker asked for, kept to rebuild the plan on edit. Explicit targets are NOT kept here: the plan holds them. */
export interface StoredRequest {
  params: Record<string, unknown>;
  selector?: Record<string, unknown>;
  waves: { sizes?: number[]; percentages?: number[]; bakeSeconds: number };
  haltPolicy: Record<string, unknown>;
}

@Entity('change_requests')
export class ChangeRequestEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 200 })
  title!: string;

  @Column({ type: 'varchar', length: 100 })
  operation!: string;

  @Column({ name: 'operation_version', type: 'integer' })
  operationVersion!: number;

  @Column({ type: 'varchar', length: 16 })
  risk!: OperationRisk;

  @Column({ type: 'varchar', length: 100, nullable: true })
  environment!: string | null;

  @Column({ type: 'varchar', length: 20 })
  status!: CrStatus;

  @Column({ name: 'author_id', type: 'varchar', length: 80 })
  authorId!: string;

  /** Everyone who edited the CR (and the owner of the token that wrote it): none of them may approve it. */
  @Column({ name: 'editor_ids', type: 'simple-json' })
  editorIds!: string[];

  @Column({ type: 'integer' })
  revision!: number;

  @Column({ name: 'plan_hash', type: 'varchar', length: 64 })
  planHash!: string;

  @Column({ name: 'required_approvals', type: 'integer' })
  requiredApprovals!: number;

  @Column({ name: 'approval_reasons', type: 'simple-json' })
  approvalReasons!: string[];

  @Column({ name: 'target_count', type: 'integer' })
  targetCount!: number;

  @Column({ name: 'tenant_count', type: 'integer' })
  tenantCount!: number;

  @Column({ type: 'simple-json' })
  request!: StoredRequest;

  @Column({ type: 'text' })
  justification!: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  ticket!: string | null;

  @Column({ name: 'scheduled_at', type: Date, nullable: true })
  scheduledAt!: Date | null;

  @Column({ name: 'submitted_at', type: Date, nullable: true })
  submittedAt!: Date | null;

  @Column({ name: 'approved_at', type: Date, nullable: true })
  approvedAt!: Date | null;

  @Column({ name: 'pending_ttl_seconds', type: 'integer' })
  pendingTtlSeconds!: number;

  @Column({ name: 'start_window_seconds', type: 'integer' })
  startWindowSeconds!: number;

  /** Set by a break-glass execution; `review` is added once by the review after the fact (ADR 0010). */
  @Column({ name: 'break_glass', type: 'simple-json', nullable: true })
  breakGlass!: StoredBreakGlass | null;

  /** Why the CR is in its status: the reject comment, the expiry explanation, a halt reason. */
  @Column({ name: 'status_reason', type: 'text', nullable: true })
  statusReason!: string | null;

  /** Optimistic lock: every update is `WHERE id = ? AND version = ?` and bumps it. */
  @Column({ type: 'integer' })
  version!: number;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}

/** The CR's current plan, stored once (one row per CR, replaced on edit); the engine executes exactly this. */
@Entity('change_request_plans')
export class ChangeRequestPlanEntity {
  @PrimaryColumn({ name: 'change_request_id', type: 'varchar', length: 36 })
  changeRequestId!: string;

  @Column({ type: 'integer' })
  revision!: number;

  @Column({ name: 'plan_hash', type: 'varchar', length: 64 })
  planHash!: string;

  /** The plan as canonical JSON: exactly the bytes the hash covers. */
  @Column({ type: 'text' })
  plan!: string;
}

/** One checker's approval of one revision; an edit bumps the revision, so older approvals no longer count. */
@Entity('change_request_approvals')
export class ChangeRequestApprovalEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'change_request_id', type: 'varchar', length: 36 })
  changeRequestId!: string;

  @Column({ type: 'integer' })
  revision!: number;

  @Column({ name: 'user_id', type: 'varchar', length: 80 })
  userId!: string;

  @Column({ name: 'plan_hash', type: 'varchar', length: 64 })
  planHash!: string;

  @Column({ type: 'text', nullable: true })
  comment!: string | null;

  @Column({ type: Date })
  at!: Date;
}

/** The `break_glass` JSON column: the lifecycle's BreakGlass with ISO timestamps. */
export interface StoredBreakGlass {
  by: string;
  incidentRef: string;
  at: string;
  review?: { by: string; at: string; outcome: 'accepted' | 'concerns'; note: string };
}
