// Lifecycle rule 3 outside an edit: an approval binds to the plan it saw, so when what that plan was built against
// changes under it (a provider's definition, a data connector's database), the approvals of the open change requests
// planned on the old one are dropped. Each goes back to pending with the reason (the maker edits it to rebuild the
// plan, then asks again), and the audit chain and the outbox record `change_request.approvals_voided`.
import { In } from 'typeorm';
import { Tx } from '../common/transaction';
import { ChangeRequestApprovalEntity, ChangeRequestEntity } from './change-request.entity';

/** The pending and approved change requests of these operations (the ones an approval can still be dropped from). */
export function openChangeRequests(tx: Tx, operations: string[]): Promise<ChangeRequestEntity[]> {
  if (operations.length === 0) return Promise.resolve([]);
  return tx.manager.find(ChangeRequestEntity, {
    where: { status: In(['pending', 'approved']), operation: In(operations) },
  });
}

/**
 * Drops the current revision's approvals of `cr`, returns it to pending with `reason`, records it (`data` is logged);
 * does nothing when the CR is no longer at the version and status it was read with.
 */
export async function voidApprovals(
  tx: Tx,
  cr: ChangeRequestEntity,
  reason: string,
  data: Record<string, unknown>,
): Promise<void> {
  // Conditional on the version read: a CR that changed meanwhile (started, edited) is left as it is; a started one
  // still writes nothing its plan did not see (the operation checks the version it was planned with first).
  const moved = await tx.manager.update(
    ChangeRequestEntity,
    { id: cr.id, version: cr.version, status: In(['pending', 'approved']) },
    { status: 'pending', approvedAt: null, statusReason: reason, version: cr.version + 1, updatedAt: tx.now },
  );
  if (!moved.affected) return;
  const voided = await tx.manager.find(ChangeRequestApprovalEntity, {
    where: { changeRequestId: cr.id, revision: cr.revision },
  });
  await tx.manager.delete(ChangeRequestApprovalEntity, { changeRequestId: cr.id, revision: cr.revision });
  const logged = { ...data, voidedApprovals: voided.map((a) => a.userId), previousStatus: cr.status };
  tx.audit({
    actor: 'system',
    action: 'change_request.approvals_voided',
    entityType: 'change_request',
    entityId: cr.id,
    data: logged,
  });
  tx.emit({
    type: 'change_request.approvals_voided',
    entityType: 'change_request',
    entityId: cr.id,
    actor: 'system',
    data: { ...logged, reason },
  });
}
