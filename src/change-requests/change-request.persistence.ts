// Loading a change request and writing a lifecycle decision, shared by the change-request use cases (authoring,
// commands): the CR with its current approvals and the lifecycle's snapshot of it; the decision persisted with the
// CR store's optimistic lock, with ONE audit entry (ids and hashes only) and ONE outbox event; and the retry of a use
// case that lost a race for the CR's `version`.
import { setTimeout as sleep } from 'node:timers/promises';
import { EntityManager, In } from 'typeorm';
import { sha256Hex } from '../common/canonical-json';
import { Tx } from '../common/transaction';
import { Actor, CrCommand, CrDecision, CrStatus } from './domain/lifecycle';
import { ChangeRequestApprovalEntity, ChangeRequestEntity } from './change-request.entity';
import { changeRequestNotFound, concurrentUpdate, VersionConflict } from './change-request.errors';
import { changeRequestStore as store, toSnapshot, toStoredBreakGlass } from './change-request.store';
import type { Plan } from './plan.builder';

const MAX_ATTEMPTS = 8;

/** The CR, its approvals of the current revision and the lifecycle's snapshot; 404 when there is none. */
export async function loadChangeRequest(m: EntityManager, id: string) {
  const cr = await store.find(m, id);
  if (!cr) throw changeRequestNotFound(id);
  const approvals = await store.currentApprovals(m, cr);
  return { cr, approvals, snapshot: toSnapshot(cr, approvals) };
}

/** The approvals of each CR's current revision, in one query. */
export async function approvalsOf(
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

/** The stored plan the approvals were given for, with its revision and hash. */
export async function storedPlan(
  m: EntityManager,
  id: string,
): Promise<{ revision: number; planHash: string; plan: Plan }> {
  const row = await store.plan(m, id);
  if (!row) throw changeRequestNotFound(id);
  return { revision: row.revision, planHash: row.planHash, plan: JSON.parse(row.plan) as Plan };
}

/** Persists the decision (optimistic lock on `version`), the approval a command adds, and the audit entry + event. */
export async function persistDecision(
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
  recordTransition(
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
export function recordTransition(
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

/** Runs a use case again on fresh state when another writer bumped the CR's version first (then 409). */
export async function retrying(work: () => Promise<void>): Promise<void> {
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
