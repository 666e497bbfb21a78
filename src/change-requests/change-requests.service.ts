import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { DataSource, EntityManager, In } from 'typeorm';
import { Clock } from '../common/clock';
import { sha256Hex } from '../common/canonical-json';
import { decodeCursor, encodeCursor } from '../common/cursor';
import { DomainError, unprocessable } from '../common/errors';
import { Principal } from '../common/principal';
import { TransactionRunner, Tx } from '../common/transaction';
import { OperationRegistry } from '../operations/operation.registry';
import { RolloutsService } from '../rollouts/rollouts.service';
import type { PlannedTarget } from '../operations/operation.types';
import {
  Actor,
  availableCommands,
  CR_ERROR_CODES,
  CrCommand,
  CrDecision,
  CrSnapshot,
  CrStatus,
  createChangeRequest,
  decide,
  expiryDue,
  SYSTEM_ACTOR,
  validApprovers,
} from './domain/lifecycle';
import {
  breakGlassReviewRefusal,
  BreakGlassReviewInput,
  decideBreakGlassReview,
} from './domain/break-glass-review';
import { coAuthors, toActor } from './change-request.actor';
import {
  ChangeRequestApprovalEntity,
  ChangeRequestEntity,
  ChangeRequestPlanEntity,
} from './change-request.entity';
import {
  CHANGE_REQUEST_ERRORS,
  changeRequestNotFound,
  concurrentUpdate,
  VersionConflict,
} from './change-request.errors';
import { BuiltPlan, ChangeRequestPlanner, PlanRequest } from './change-request.planner';
import { changeRequestStore as store, toSnapshot, toStoredBreakGlass } from './change-request.store';
import type { Plan } from './plan.builder';

export interface CreateChangeRequestInput extends PlanRequest {
  title: string;
  justification: string;
  ticket?: string;
  scheduledAt?: string;
}

export type EditChangeRequestInput = Partial<Omit<CreateChangeRequestInput, 'operation'>>;

export interface ListQuery {
  status?: CrStatus;
  awaiting?: 'me';
  /** `pending`: executed through break-glass, not reviewed yet; `done`: reviewed. */
  breakGlassReview?: 'pending' | 'done';
  cursor?: string;
  limit: number;
}

const MAX_ATTEMPTS = 8;
const isListCursor = (v: unknown): v is { at: string; id: string } =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as { at?: unknown }).at === 'string' &&
  typeof (v as { id?: unknown }).id === 'string';

/**
 * The change-request use cases. Each loads the CR, asks the pure lifecycle (domain/lifecycle.ts) for a decision,
 * and persists it with an optimistic lock, its audit entry and its outbox event in one transaction. A lost race
 * (another writer bumped `version`) re-runs the whole use case on fresh state.
 */
@Injectable()
export class ChangeRequestsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tx: TransactionRunner,
    private readonly planner: ChangeRequestPlanner,
    private readonly registry: OperationRegistry,
    @Inject(Clock) private readonly clock: Clock,
    // The wave engine (issue 4) adds live progress, per-wave counts and the halt reason once the CR has run.
    @Optional() private readonly rollouts?: RolloutsService,
  ) {}

  // --- use cases -------------------------------------------------------------------------------------------

  async create(p: Principal, input: CreateChangeRequestInput): Promise<Record<string, unknown>> {
    const actor = toActor(p);
    const op = this.registry.get(input.operation);
    this.requireTicket(op.risk, input.ticket);
    const id = await this.tx.run(async (tx) => {
      const scheduledAt = this.scheduledAt(input.scheduledAt, tx.now);
      // Role first: a viewer learns nothing about the inventory from a refused create.
      createChangeRequest({ planHash: '', requiredApprovals: 1, operationRisk: op.risk }, actor);
      const built = await this.planner.build(tx.manager, input, tx.now);
      const { next, event } = createChangeRequest(
        {
          planHash: built.planHash,
          requiredApprovals: built.requirement.required,
          operationRisk: built.op.risk,
          pendingTtlMs: built.expiry.pendingTtlSeconds * 1000,
          startWindowMs: built.expiry.startWindowSeconds * 1000,
          scheduledAt: scheduledAt ?? undefined,
        },
        actor,
      );
      const cr = Object.assign(new ChangeRequestEntity(), {
        id: randomUUID(),
        title: input.title.trim(),
        operation: built.op.name,
        operationVersion: built.op.version,
        risk: built.op.risk,
        environment: built.environment,
        status: next.status,
        authorId: next.authorId,
        editorIds: [...next.editorIds, ...coAuthors(p)],
        revision: next.revision,
        planHash: next.planHash,
        requiredApprovals: next.requiredApprovals,
        approvalReasons: built.requirement.reasons,
        targetCount: built.plan.summary.targetCount,
        tenantCount: built.plan.summary.tenantCount,
        request: built.stored,
        justification: input.justification.trim(),
        ticket: input.ticket?.trim() || null,
        scheduledAt,
        submittedAt: null,
        approvedAt: null,
        pendingTtlSeconds: built.expiry.pendingTtlSeconds,
        startWindowSeconds: built.expiry.startWindowSeconds,
        breakGlass: null,
        statusReason: null,
        version: 1,
        createdAt: tx.now,
        updatedAt: tx.now,
      });
      await store.insert(tx.manager, cr, this.planRow(cr, built));
      this.record(tx, cr, actor, event, 'draft', { approvalCount: 0 });
      return cr.id;
    });
    return this.get(p, id);
  }

  async edit(p: Principal, id: string, patch: EditChangeRequestInput): Promise<Record<string, unknown>> {
    const actor = toActor(p);
    await this.retrying(id, () =>
      this.tx.run(async (tx) => {
        const { cr, snapshot } = await this.load(tx.manager, id);
        // Who and when, before the (possibly large) plan is rebuilt.
        decide(snapshot, { type: 'edit', planHash: snapshot.planHash }, actor, tx.now);
        const ticket = patch.ticket !== undefined ? patch.ticket.trim() || null : cr.ticket;
        this.requireTicket(cr.risk, ticket ?? undefined);
        const scheduledAt =
          patch.scheduledAt !== undefined ? this.scheduledAt(patch.scheduledAt, tx.now) : cr.scheduledAt;
        const request = await this.mergedRequest(tx.manager, cr, patch);
        const built = await this.planner.build(tx.manager, request, tx.now);
        const decision = decide(
          { ...snapshot, scheduledAt: scheduledAt ?? undefined },
          { type: 'edit', planHash: built.planHash, requiredApprovals: built.requirement.required },
          actor,
          tx.now,
        );
        const changes: Partial<ChangeRequestEntity> = {
          title: patch.title !== undefined ? patch.title.trim() : cr.title,
          justification: patch.justification !== undefined ? patch.justification.trim() : cr.justification,
          ticket,
          scheduledAt,
          request: built.stored,
          environment: built.environment,
          approvalReasons: built.requirement.reasons,
          targetCount: built.plan.summary.targetCount,
          tenantCount: built.plan.summary.tenantCount,
        };
        await this.persist(tx, cr, decision, actor, { type: 'edit', planHash: built.planHash }, changes);
        await store.replacePlan(tx.manager, this.planRow({ ...cr, revision: decision.next.revision }, built));
      }),
    );
    return this.get(p, id);
  }

  /** submit, approve, reject, cancel, execute (and, for the sweep and the engine, expire and the rest). */
  async command(
    p: Principal | 'system',
    id: string,
    command: CrCommand,
  ): Promise<Record<string, unknown> | null> {
    const actor = p === 'system' ? SYSTEM_ACTOR : toActor(p);
    try {
      await this.retrying(id, () =>
        this.tx.run(async (tx) => {
          const { cr, snapshot } = await this.load(tx.manager, id);
          const decision = decide(snapshot, command, actor, tx.now);
          await this.persist(tx, cr, decision, actor, command);
        }),
      );
    } catch (e) {
      // An overdue CR refused an approve/edit/execute: record the expiry now rather than wait for the sweep.
      if (e instanceof DomainError && e.code === CR_ERROR_CODES.EXPIRED) await this.expireIfDue(id);
      throw e;
    }
    return p === 'system' ? null : this.get(p, id);
  }

  /**
   * The review after the fact of a break-glass execution (design rule 8, ADR 0010): stored in the CR's
   * `break_glass` record with an audit entry and a `change_request.break_glass_reviewed` event; never changes the
   * status.
   */
  async reviewBreakGlass(
    p: Principal,
    id: string,
    input: BreakGlassReviewInput,
  ): Promise<Record<string, unknown>> {
    const actor = toActor(p);
    await this.retrying(id, () =>
      this.tx.run(async (tx) => {
        const { cr, snapshot } = await this.load(tx.manager, id);
        const d = decideBreakGlassReview(snapshot, input, actor, tx.now);
        await store.updateVersioned(tx.manager, cr.id, cr.version, {
          breakGlass: toStoredBreakGlass(d.breakGlass),
          updatedAt: tx.now,
        });
        this.record(tx, cr, actor, d.event, cr.status, {
          approvalCount: validApprovers(snapshot).length,
          // The note goes to the event (the channel should read it) and only as a hash to the audit log.
          reason: d.review.note,
          breakGlass: { by: d.breakGlass.by, incidentRef: d.breakGlass.incidentRef },
          review: { by: d.review.by, outcome: d.review.outcome },
        });
      }),
    );
    return this.get(p, id);
  }

  /** Expires every pending or approved CR past its deadline; returns how many. The sweeper calls it on a timer. */
  async sweepExpired(): Promise<number> {
    const now = this.clock.now();
    const candidates = await this.dataSource.getRepository(ChangeRequestEntity).find({
      where: { status: In(['pending', 'approved']) },
      select: {
        id: true,
        status: true,
        submittedAt: true,
        approvedAt: true,
        scheduledAt: true,
        pendingTtlSeconds: true,
        startWindowSeconds: true,
        risk: true,
      },
    });
    let expired = 0;
    for (const c of candidates) {
      const due = expiryDue(
        {
          status: c.status,
          submittedAt: c.submittedAt ?? undefined,
          approvedAt: c.approvedAt ?? undefined,
          scheduledAt: c.scheduledAt ?? undefined,
          pendingTtlMs: c.pendingTtlSeconds * 1000,
          startWindowMs: c.startWindowSeconds * 1000,
        } as CrSnapshot,
        now,
      );
      if (due && (await this.expireIfDue(c.id))) expired++;
    }
    return expired;
  }

  // --- reads -----------------------------------------------------------------------------------------------

  async get(p: Principal, id: string): Promise<Record<string, unknown>> {
    const m = this.dataSource.manager;
    const { cr, approvals, snapshot } = await this.load(m, id);
    const planRow = await store.plan(m, id);
    const plan = planRow ? (JSON.parse(planRow.plan) as Plan) : null;
    return {
      ...this.summaryView(cr, approvals, snapshot),
      plan,
      ...((await this.rollouts?.progress(id)) ?? {
        progress: {
          pending: cr.targetCount,
          running: 0,
          succeeded: 0,
          failed: 0,
          skipped: 0,
          rolled_back: 0,
        },
        waves: (plan?.waves ?? []).map((w) => ({
          index: w.index,
          status: 'pending',
          counts: {
            pending: w.targets.length,
            running: 0,
            succeeded: 0,
            failed: 0,
            skipped: 0,
            rolled_back: 0,
          },
        })),
      }),
      availableCommands: availableCommands(snapshot, toActor(p), this.clock.now()),
      // For the UI: may this caller review the break-glass execution, and if not, why (null: nothing to review).
      breakGlassReviewAccess: snapshot.breakGlass ? reviewAccess(snapshot, toActor(p)) : null,
    };
  }

  async list(p: Principal, q: ListQuery): Promise<{ items: Record<string, unknown>[]; nextCursor?: string }> {
    const after = decodeCursor(q.cursor, isListCursor);
    const actor = toActor(p);
    if (q.awaiting === 'me' && !actor.roles.includes('checker')) return { items: [] };
    const qb = this.dataSource
      .getRepository(ChangeRequestEntity)
      .createQueryBuilder('cr')
      .orderBy('cr.created_at', 'DESC')
      .addOrderBy('cr.id', 'DESC')
      .take(q.limit + 1);
    if (q.status) qb.andWhere('cr.status = :status', { status: q.status });
    if (q.breakGlassReview) {
      // `"review":` appears in the JSON only as the key: inside a string value its quotes are escaped.
      qb.andWhere('cr.break_glass IS NOT NULL').andWhere(
        q.breakGlassReview === 'pending'
          ? 'cr.break_glass NOT LIKE :reviewKey'
          : 'cr.break_glass LIKE :reviewKey',
        { reviewKey: '%"review":%' },
      );
    }
    if (q.awaiting === 'me' && q.breakGlassReview === 'pending') {
      // Awaiting my review: break-glass executions I may review (not mine, not authored or edited by me).
      qb.andWhere('cr.author_id <> :me', { me: actor.id })
        .andWhere('cr.editor_ids NOT LIKE :meJson', { meJson: `%${JSON.stringify(actor.id)}%` })
        .andWhere('cr.break_glass NOT LIKE :byMe', { byMe: `%"by":${JSON.stringify(actor.id)}%` });
    } else if (q.awaiting === 'me') {
      qb.andWhere("cr.status = 'pending'")
        .andWhere('cr.author_id <> :me', { me: actor.id })
        .andWhere('cr.editor_ids NOT LIKE :meJson', { meJson: `%${JSON.stringify(actor.id)}%` })
        .andWhere(
          'NOT EXISTS (SELECT 1 FROM change_request_approvals a WHERE a.change_request_id = cr.id AND a.revision = cr.revision AND a.user_id = :me)',
        );
    }
    if (after) {
      qb.andWhere('(cr.created_at < :at OR (cr.created_at = :at AND cr.id < :id))', {
        at: new Date(after.at),
        id: after.id,
      });
    }
    const rows = await qb.getMany();
    const page = rows.slice(0, q.limit);
    const approvals = await this.approvalsOf(this.dataSource.manager, page);
    const items = page.map((cr) => {
      const a = approvals.get(cr.id) ?? [];
      return this.summaryView(cr, a, toSnapshot(cr, a));
    });
    if (rows.length <= q.limit) return { items };
    const last = page[page.length - 1];
    return { items, nextCursor: encodeCursor({ at: last.createdAt.toISOString(), id: last.id }) };
  }

  /** For the wave engine: the stored plan the approvals were given for, with its revision and hash. */
  async storedPlan(
    m: EntityManager,
    id: string,
  ): Promise<{ revision: number; planHash: string; plan: Plan }> {
    const row = await store.plan(m, id);
    if (!row) throw changeRequestNotFound(id);
    return { revision: row.revision, planHash: row.planHash, plan: JSON.parse(row.plan) as Plan };
  }

  // --- helpers ---------------------------------------------------------------------------------------------

  private async load(m: EntityManager, id: string) {
    const cr = await store.find(m, id);
    if (!cr) throw changeRequestNotFound(id);
    const approvals = await store.currentApprovals(m, cr);
    return { cr, approvals, snapshot: toSnapshot(cr, approvals) };
  }

  private async approvalsOf(
    m: EntityManager,
    crs: ChangeRequestEntity[],
  ): Promise<Map<string, ChangeRequestApprovalEntity[]>> {
    const out = new Map<string, ChangeRequestApprovalEntity[]>();
    if (crs.length === 0) return out;
    const revision = new Map(crs.map((c) => [c.id, c.revision]));
    const rows = await m.find(ChangeRequestApprovalEntity, {
      where: { changeRequestId: In([...revision.keys()]) },
      order: { at: 'ASC', id: 'ASC' },
    });
    for (const r of rows) {
      if (revision.get(r.changeRequestId) !== r.revision) continue;
      out.set(r.changeRequestId, [...(out.get(r.changeRequestId) ?? []), r]);
    }
    return out;
  }

  private async persist(
    tx: Tx,
    cr: ChangeRequestEntity,
    decision: CrDecision,
    actor: Actor,
    command: CrCommand,
    extra: Partial<ChangeRequestEntity> = {},
  ): Promise<void> {
    const n = decision.next;
    const statusChanged = n.status !== cr.status;
    await store.updateVersioned(tx.manager, cr.id, cr.version, {
      ...extra,
      status: n.status,
      editorIds: [...n.editorIds],
      revision: n.revision,
      planHash: n.planHash,
      requiredApprovals: n.requiredApprovals,
      submittedAt: n.submittedAt ?? null,
      approvedAt: n.approvedAt ?? null,
      breakGlass: toStoredBreakGlass(n.breakGlass),
      statusReason: statusChanged ? (decision.reason ?? null) : cr.statusReason,
      updatedAt: tx.now,
    });
    if (command.type === 'approve') {
      // The approval is recorded whether it completes the quorum or not; its row names the revision it approved.
      await store.insertApproval(tx.manager, cr, n.revision, n.approvals[n.approvals.length - 1]);
    }
    this.record(
      tx,
      { ...cr, ...extra, revision: n.revision, planHash: n.planHash, requiredApprovals: n.requiredApprovals },
      actor,
      decision.event,
      decision.from,
      {
        approvalCount: decision.approvalCount,
        ...(decision.voidedApprovals.length ? { voidedApprovals: decision.voidedApprovals.length } : {}),
        ...(decision.reason ? { reason: decision.reason } : {}),
        ...(decision.breakGlass
          ? { breakGlass: { by: decision.breakGlass.by, incidentRef: decision.breakGlass.incidentRef } }
          : {}),
        status: n.status,
      },
    );
  }

  /** One audit entry (ids and hashes only) and one outbox event per transition, in the transaction. */
  private record(
    tx: Tx,
    cr: Pick<
      ChangeRequestEntity,
      | 'id'
      | 'title'
      | 'operation'
      | 'revision'
      | 'planHash'
      | 'requiredApprovals'
      | 'targetCount'
      | 'authorId'
      | 'status'
    >,
    actor: Actor,
    event: string,
    from: CrStatus,
    extra: {
      approvalCount: number;
      voidedApprovals?: number;
      reason?: string;
      status?: CrStatus;
      breakGlass?: unknown;
      review?: unknown;
    },
  ): void {
    const status = extra.status ?? cr.status;
    const { reason, ...rest } = extra;
    tx.audit({
      actor: actor.id,
      action: event,
      entityType: 'change_request',
      entityId: cr.id,
      data: {
        from,
        to: status,
        revision: cr.revision,
        planHash: cr.planHash,
        operation: cr.operation,
        ...rest,
        ...(reason ? { reasonSha256: sha256Hex(reason) } : {}),
      },
    });
    tx.emit({
      type: event,
      entityType: 'change_request',
      entityId: cr.id,
      actor: actor.id,
      data: {
        id: cr.id,
        title: cr.title,
        operation: cr.operation,
        from,
        ...rest,
        status,
        revision: cr.revision,
        planHash: cr.planHash,
        requiredApprovals: cr.requiredApprovals,
        targetCount: cr.targetCount,
        author: cr.authorId,
        ...(reason ? { reason } : {}),
      },
    });
  }

  private async retrying(id: string, work: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (e) {
        if (!(e instanceof VersionConflict)) throw e;
        if (attempt >= MAX_ATTEMPTS) throw concurrentUpdate();
        // Jitter so that racing writers do not collide again in lockstep.
        await sleep(Math.floor(Math.random() * 10 * attempt));
      }
    }
  }

  /** Records the expiry of a CR that is due; false when it is not due any more or someone else got there first. */
  private async expireIfDue(id: string): Promise<boolean> {
    try {
      await this.retrying(id, () =>
        this.tx.run(async (tx) => {
          const { cr, snapshot } = await this.load(tx.manager, id);
          await this.persist(
            tx,
            cr,
            decide(snapshot, { type: 'expire' }, SYSTEM_ACTOR, tx.now),
            SYSTEM_ACTOR,
            { type: 'expire' },
          );
        }),
      );
      return true;
    } catch (e) {
      if (e instanceof DomainError) return false;
      throw e;
    }
  }

  private async mergedRequest(
    m: EntityManager,
    cr: ChangeRequestEntity,
    patch: EditChangeRequestInput,
  ): Promise<PlanRequest> {
    const stored = cr.request;
    let targets: unknown = patch.targets;
    let selector: unknown = patch.selector;
    if (targets === undefined && selector === undefined) {
      if (stored.selector) selector = stored.selector;
      else {
        // Explicit targets are kept once, in the plan.
        const plan = await this.storedPlan(m, cr.id);
        targets = plan.plan.waves.flatMap((w) =>
          w.targets.map((t: PlannedTarget) => ({ type: t.type, id: t.id })),
        );
      }
    }
    return {
      operation: cr.operation,
      params: patch.params ?? stored.params,
      targets,
      selector,
      waves: patch.waves ?? stored.waves,
      haltPolicy: patch.haltPolicy ?? stored.haltPolicy,
    };
  }

  private planRow(
    cr: Pick<ChangeRequestEntity, 'id' | 'revision'>,
    built: BuiltPlan,
  ): ChangeRequestPlanEntity {
    return Object.assign(new ChangeRequestPlanEntity(), {
      changeRequestId: cr.id,
      revision: cr.revision,
      planHash: built.planHash,
      plan: built.planJson,
    });
  }

  private requireTicket(risk: string, ticket: string | undefined | null): void {
    if (risk === 'irreversible' && !ticket?.trim()) {
      throw unprocessable(
        CHANGE_REQUEST_ERRORS.TICKET_REQUIRED,
        'ticket: an irreversible operation needs a ticket reference',
        [{ field: 'ticket', reason: 'required for irreversible operations' }],
      );
    }
  }

  private scheduledAt(raw: string | undefined | null, now: Date): Date | null {
    if (raw === undefined || raw === null) return null;
    const at = new Date(raw);
    if (Number.isNaN(at.getTime()) || at.getTime() <= now.getTime()) {
      throw unprocessable(
        CHANGE_REQUEST_ERRORS.SCHEDULED_IN_PAST,
        'scheduledAt: must be a time in the future',
        [{ field: 'scheduledAt', reason: 'must be in the future' }],
      );
    }
    return at;
  }

  private summaryView(
    cr: ChangeRequestEntity,
    approvals: ChangeRequestApprovalEntity[],
    snapshot: CrSnapshot,
  ) {
    const due = expiryDeadline(snapshot);
    return {
      id: cr.id,
      title: cr.title,
      operation: cr.operation,
      operationVersion: cr.operationVersion,
      risk: cr.risk,
      environment: cr.environment,
      status: cr.status,
      statusReason: cr.statusReason,
      revision: cr.revision,
      version: cr.version,
      planHash: cr.planHash,
      requiredApprovals: cr.requiredApprovals,
      approvalReasons: cr.approvalReasons,
      approvalCount: validApprovers(snapshot).length,
      approvals: approvals.map((a) => ({
        userId: a.userId,
        planHash: a.planHash,
        revision: a.revision,
        at: a.at,
        comment: a.comment,
      })),
      author: cr.authorId,
      editors: cr.editorIds,
      justification: cr.justification,
      ticket: cr.ticket,
      targetCount: cr.targetCount,
      tenantCount: cr.tenantCount,
      selector: cr.request.selector ?? null,
      scheduledAt: cr.scheduledAt,
      submittedAt: cr.submittedAt,
      approvedAt: cr.approvedAt,
      expiresAt: due,
      pendingTtlSeconds: cr.pendingTtlSeconds,
      startWindowSeconds: cr.startWindowSeconds,
      breakGlass: cr.breakGlass,
      createdAt: cr.createdAt,
      updatedAt: cr.updatedAt,
    };
  }
}

function reviewAccess(s: CrSnapshot, actor: Actor): { allowed: boolean; code?: string; reason?: string } {
  const refusal = breakGlassReviewRefusal(s, actor);
  return refusal ? { allowed: false, code: refusal.code, reason: refusal.message } : { allowed: true };
}

/** When a pending or approved CR expires if nothing happens (the lifecycle's rule 5); null otherwise. */
function expiryDeadline(s: CrSnapshot): Date | null {
  if (s.status === 'pending' && s.submittedAt) return new Date(s.submittedAt.getTime() + s.pendingTtlMs);
  if (s.status === 'approved' && s.approvedAt) {
    return new Date(Math.max(s.approvedAt.getTime(), s.scheduledAt?.getTime() ?? 0) + s.startWindowMs);
  }
  return null;
}
