// Authoring change requests: create (plan built, hashed and stored with the CR) and edit (a new revision: the plan is
// rebuilt and every approval voided, lifecycle rule 3). Both refuse an irreversible operation without a ticket and a
// scheduled time that is not in the future, naming the field.
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { unprocessable } from '../common/errors';
import { Principal } from '../common/principal';
import { TransactionRunner } from '../common/transaction';
import { OperationRegistry } from '../operations/operation.registry';
import type { PlannedTarget } from '../operations/operation.types';
import { createChangeRequest, decide } from './domain/lifecycle';
import { coAuthors, toActor } from './change-request.actor';
import { ChangeRequestEntity, ChangeRequestPlanEntity } from './change-request.entity';
import { CHANGE_REQUEST_ERRORS } from './change-request.errors';
import { BuiltPlan, ChangeRequestPlanner, PlanRequest } from './change-request.planner';
import { changeRequestStore as store } from './change-request.store';
import {
  loadChangeRequest,
  persistDecision,
  recordTransition,
  retrying,
  storedPlan,
} from './change-request.persistence';

export interface CreateChangeRequestInput extends PlanRequest {
  title: string;
  justification: string;
  ticket?: string;
  scheduledAt?: string;
}

export type EditChangeRequestInput = Partial<Omit<CreateChangeRequestInput, 'operation'>>;

@Injectable()
export class ChangeRequestAuthoring {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly planner: ChangeRequestPlanner,
    private readonly registry: OperationRegistry,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /** Creates a draft with its plan; returns its id. */
  async create(p: Principal, input: CreateChangeRequestInput): Promise<string> {
    const actor = toActor(p);
    const op = this.registry.get(input.operation);
    this.requireTicket(op.risk, input.ticket);
    // Role first: a viewer learns nothing about the inventory (or the platform) from a refused create.
    createChangeRequest({ planHash: '', requiredApprovals: 1, operationRisk: op.risk }, actor);
    // A provider operation's targets are read from the platform BEFORE the plan's transaction opens (on SQLite every
    // transaction holds the single writer; a network call must not).
    const platform = await this.planner.readPlatform(input, this.clock.now(), (fn) => this.tx.read(fn));
    const id = await this.tx.run(async (tx) => {
      const scheduledAt = this.scheduledAt(input.scheduledAt, tx.now);
      const built = await this.planner.build(tx.manager, input, tx.now, platform);
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
      recordTransition(tx, cr, actor, event, 'draft', { approvalCount: 0 });
      return cr.id;
    });
    return id;
  }

  /** A new revision of a draft or pending CR: plan rebuilt, approvals voided. */
  async edit(p: Principal, id: string, patch: EditChangeRequestInput): Promise<void> {
    const actor = toActor(p);
    // Provider operations: the platform is read before the plan's transaction (see create).
    const request = await this.tx.read(async (m) => {
      const { cr, snapshot } = await loadChangeRequest(m, id);
      decide(snapshot, { type: 'edit', planHash: snapshot.planHash }, actor, this.clock.now());
      return this.registry.find(cr.operation)?.readPlatform ? this.mergedRequest(m, cr, patch) : null;
    });
    const platform = request
      ? await this.planner.readPlatform(request, this.clock.now(), (fn) => this.tx.read(fn))
      : undefined;
    await retrying(() =>
      this.tx.run(async (tx) => {
        const { cr, snapshot } = await loadChangeRequest(tx.manager, id);
        // Who and when, before the (possibly large) plan is rebuilt.
        decide(snapshot, { type: 'edit', planHash: snapshot.planHash }, actor, tx.now);
        const ticket = patch.ticket !== undefined ? patch.ticket.trim() || null : cr.ticket;
        this.requireTicket(cr.risk, ticket ?? undefined);
        const scheduledAt =
          patch.scheduledAt !== undefined ? this.scheduledAt(patch.scheduledAt, tx.now) : cr.scheduledAt;
        const request = await this.mergedRequest(tx.manager, cr, patch);
        const built = await this.planner.build(tx.manager, request, tx.now, platform);
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
          // A provider's operation is at the provider's version when the plan is rebuilt.
          operationVersion: built.op.version,
          environment: built.environment,
          approvalReasons: built.requirement.reasons,
          targetCount: built.plan.summary.targetCount,
          tenantCount: built.plan.summary.tenantCount,
        };
        await persistDecision(tx, cr, decision, actor, { type: 'edit', planHash: built.planHash }, changes);
        await store.replacePlan(tx.manager, this.planRow({ ...cr, revision: decision.next.revision }, built));
      }),
    );
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
        const plan = await storedPlan(m, cr.id);
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
}
