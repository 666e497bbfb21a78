import { Tx } from '../common/transaction';
import { ChangeRequestEntity } from '../change-requests/change-request.entity';
import { changeRequestStore, toSnapshot } from '../change-requests/change-request.store';
import {
  changeRequestNotFound,
  concurrentUpdate,
  VersionConflict,
} from '../change-requests/change-request.errors';
import { Actor, CrCommand, CrDecision, decide } from '../change-requests/domain/lifecycle';

// Loading a CR and persisting a lifecycle decision, shared by the engine, its API and the signals. The pure
// decide() says whether the command is allowed; this writes the result with the optimistic lock of the CR store.

export { toActor } from '../change-requests/change-request.actor';

export const auditActor = (a: Actor): string => a.id;

export async function loadCr(tx: Tx, id: string): Promise<ChangeRequestEntity> {
  const cr = await changeRequestStore.find(tx.manager, id);
  if (!cr) throw changeRequestNotFound(id);
  return cr;
}

/** decide() on the CR as stored now; throws the lifecycle's DomainError when refused. */
export async function decideOn(
  tx: Tx,
  cr: ChangeRequestEntity,
  command: CrCommand,
  actor: Actor,
): Promise<CrDecision> {
  const approvals = await changeRequestStore.currentApprovals(tx.manager, cr);
  return decide(toSnapshot(cr, approvals), command, actor, tx.now);
}

/** Persists the decision's status (+ extra columns), with its audit entry and outbox event, in `tx`. */
export async function persistDecision(
  tx: Tx,
  cr: ChangeRequestEntity,
  d: CrDecision,
  actor: Actor,
  extra: Partial<ChangeRequestEntity> = {},
  data: Record<string, unknown> = {},
): Promise<void> {
  const changes: Partial<ChangeRequestEntity> = {
    status: d.next.status,
    statusReason: d.reason ?? null,
    updatedAt: tx.now,
    ...extra,
  };
  await changeRequestStore.updateVersioned(tx.manager, cr.id, cr.version, changes);
  Object.assign(cr, changes, { version: cr.version + 1 });
  const who = auditActor(actor);
  const payload = {
    from: d.from,
    to: d.next.status,
    revision: cr.revision,
    planHash: cr.planHash,
    operation: cr.operation,
    ...(d.reason ? { reason: d.reason } : {}),
    ...(d.breakGlass ? { breakGlass: { by: d.breakGlass.by, incidentRef: d.breakGlass.incidentRef } } : {}),
    ...data,
  };
  tx.audit({ actor: who, action: d.event, entityType: 'change_request', entityId: cr.id, data: payload });
  tx.emit({
    type: d.event,
    entityType: 'change_request',
    entityId: cr.id,
    actor: who,
    data: { title: cr.title, ...payload },
  });
}

/** Runs a use case again when another writer bumped the CR's version first (a few times, then 409). */
export async function withRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof VersionConflict)) throw e;
      if (attempt >= 4) throw concurrentUpdate();
    }
  }
}
