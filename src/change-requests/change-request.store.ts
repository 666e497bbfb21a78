import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { Approval, BreakGlass, CrSnapshot } from './domain/lifecycle';
import {
  ChangeRequestApprovalEntity,
  ChangeRequestEntity,
  ChangeRequestPlanEntity,
  StoredBreakGlass,
} from './change-request.entity';
import { VersionConflict } from './change-request.errors';

/** Reads and writes the change-request tables, through the caller's transaction manager only. */
export const changeRequestStore = {
  async find(m: EntityManager, id: string): Promise<ChangeRequestEntity | null> {
    return m.findOne(ChangeRequestEntity, { where: { id } });
  },

  /** Approvals of the CR's current revision (older revisions' approvals were voided by the edit that ended them). */
  async currentApprovals(m: EntityManager, cr: ChangeRequestEntity): Promise<ChangeRequestApprovalEntity[]> {
    return m.find(ChangeRequestApprovalEntity, {
      where: { changeRequestId: cr.id, revision: cr.revision },
      order: { at: 'ASC', id: 'ASC' },
    });
  },

  async plan(m: EntityManager, id: string): Promise<ChangeRequestPlanEntity | null> {
    return m.findOne(ChangeRequestPlanEntity, { where: { changeRequestId: id } });
  },

  async insert(m: EntityManager, cr: ChangeRequestEntity, plan: ChangeRequestPlanEntity): Promise<void> {
    await m.insert(ChangeRequestEntity, cr as never);
    await m.insert(ChangeRequestPlanEntity, plan);
  },

  async replacePlan(m: EntityManager, plan: ChangeRequestPlanEntity): Promise<void> {
    await m.update(
      ChangeRequestPlanEntity,
      { changeRequestId: plan.changeRequestId },
      { revision: plan.revision, planHash: plan.planHash, plan: plan.plan },
    );
  },

  /**
   * Optimistic lock: writes `changes` only if the row is still at `version`, and bumps it. On PostgreSQL a
   * concurrent writer blocks on the row lock and then matches no row; either way the loser gets VersionConflict.
   */
  async updateVersioned(
    m: EntityManager,
    id: string,
    version: number,
    changes: Partial<ChangeRequestEntity>,
  ): Promise<void> {
    const res = await m
      .createQueryBuilder()
      .update(ChangeRequestEntity)
      .set({ ...changes, version: version + 1 } as never)
      .where('id = :id AND version = :version', { id, version })
      .execute();
    if (res.affected !== 1) throw new VersionConflict();
  },

  async insertApproval(
    m: EntityManager,
    cr: ChangeRequestEntity,
    revision: number,
    a: Approval,
  ): Promise<void> {
    await m.insert(ChangeRequestApprovalEntity, {
      id: randomUUID(),
      changeRequestId: cr.id,
      revision,
      userId: a.userId,
      planHash: a.planHash,
      comment: a.comment ?? null,
      at: a.at,
    });
  },
};

export function toSnapshot(cr: ChangeRequestEntity, approvals: ChangeRequestApprovalEntity[]): CrSnapshot {
  return {
    status: cr.status,
    authorId: cr.authorId,
    editorIds: cr.editorIds,
    revision: cr.revision,
    planHash: cr.planHash,
    requiredApprovals: cr.requiredApprovals,
    approvals: approvals.map((a) => ({
      userId: a.userId,
      planHash: a.planHash,
      at: a.at,
      ...(a.comment !== null ? { comment: a.comment } : {}),
    })),
    submittedAt: cr.submittedAt ?? undefined,
    approvedAt: cr.approvedAt ?? undefined,
    scheduledAt: cr.scheduledAt ?? undefined,
    pendingTtlMs: cr.pendingTtlSeconds * 1000,
    startWindowMs: cr.startWindowSeconds * 1000,
    operationRisk: cr.risk,
    breakGlass: cr.breakGlass ? fromStoredBreakGlass(cr.breakGlass) : undefined,
  };
}

function fromStoredBreakGlass(s: StoredBreakGlass): BreakGlass {
  const r = s.review;
  return {
    by: s.by,
    incidentRef: s.incidentRef,
    at: new Date(s.at),
    ...(r ? { review: { by: r.by, at: new Date(r.at), outcome: r.outcome, note: r.note } } : {}),
  };
}

/** The `break_glass` column value; keeps the review, so that a later command never drops it. */
export function toStoredBreakGlass(b: BreakGlass | undefined): StoredBreakGlass | null {
  if (!b) return null;
  const r = b.review;
  return {
    by: b.by,
    incidentRef: b.incidentRef,
    at: b.at.toISOString(),
    ...(r ? { review: { by: r.by, at: r.at.toISOString(), outcome: r.outcome, note: r.note } } : {}),
  };
}
