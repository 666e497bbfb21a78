// Recording one target's outcome inside the caller's transaction, with its audit entry and outbox event: succeeded
// (rolled back, in the undo phase) or failed (then also an `executor` signal and the halt policy's verdict). Shared
// by the in-database batches (rollout.batches.ts) and the external calls (external.runner.ts).
import { randomUUID } from 'node:crypto';
import { Tx } from '../common/transaction';
import { EngineExecutionContext } from '../operations/builtin.apply';
import { CaptureRef, targetRef } from '../operations/operation.types';
import { SignalEntity } from '../signals/signal.entity';
import { executeWrite } from '../common/raw-statement';
import { RolloutEntity, RolloutTargetEntity } from './rollout.entity';
import { RolloutHalts } from './rollout.halts';
import { rolloutStore } from './rollout.store';

/**
 * Marks an in-database target succeeded with ONE conditional update that also counts the attempt (on the fast path
 * it is the claim too); throws when someone else finished the target meanwhile, so the caller's batch rolls back.
 */
export async function markSucceeded(
  tx: Tx,
  rollout: RolloutEntity,
  t: RolloutTargetEntity,
  result: EngineExecutionContext<unknown>['result'],
  claimedAlready: boolean,
): Promise<void> {
  const crId = rollout.changeRequestId;
  const phase = rollout.phase;
  // Conditional, and counts the attempt: on the fast path this is the claim too. A target someone else finished
  // meanwhile matches no row, and the whole batch rolls back (then runs the careful way, which skips it).
  const done =
    (await executeWrite(
      tx.manager,
      "UPDATE rollout_targets SET status = 'succeeded', started_at = ?, finished_at = ?, error = NULL, " +
        "snapshot_id = ?, attempts = attempts + ? WHERE id = ? AND status IN ('pending', 'running')",
      [
        t.status === 'pending' ? tx.now : (t.startedAt ?? tx.now),
        tx.now,
        result.snapshotId ?? null,
        claimedAlready ? 0 : 1,
        t.id,
      ],
    )) === 1;
  if (!done) throw new Error(`target ${t.idempotencyKey} was finished by someone else`);
  if (phase === 'undo') await markApplyRolledBack(tx, crId, t);
  const type = phase === 'apply' ? 'change_request.target_succeeded' : 'change_request.target_rolled_back';
  const data = {
    target: targetRef(t.planned),
    wave: t.waveIndex,
    idempotencyKey: t.idempotencyKey,
    ...(result.snapshotId ? { snapshotId: result.snapshotId, snapshotHash: result.snapshotHash } : {}),
  };
  tx.audit({ actor: 'system', action: type, entityType: 'change_request', entityId: crId, data });
  tx.emit({ type, entityType: 'change_request', entityId: crId, actor: 'system', data });
}

/**
 * Records an external call that returned: the target, claimed and committed as `running` before the call, is now
 * succeeded (rolled back, in the undo phase). Recorded even if the CR was halted meanwhile: the call happened.
 */
export async function recordCalled(
  tx: Tx,
  rollout: RolloutEntity,
  t: RolloutTargetEntity,
  captures: readonly CaptureRef[] = [],
): Promise<void> {
  const crId = rollout.changeRequestId;
  const moved = await rolloutStore.moveTarget(tx.manager, t.id, ['running'], {
    status: 'succeeded',
    finishedAt: tx.now,
    error: null,
    // The target's result names the (first) capture of the tenant's platform rows; the audit entry names all.
    ...(captures.length > 0 ? { snapshotId: captures[0].captureId } : {}),
  });
  if (!moved) return;
  if (rollout.phase === 'undo') await markApplyRolledBack(tx, crId, t);
  const type =
    rollout.phase === 'apply' ? 'change_request.target_succeeded' : 'change_request.target_rolled_back';
  const data = {
    target: targetRef(t.planned),
    wave: t.waveIndex,
    idempotencyKey: t.idempotencyKey,
    ...(captures.length > 0 ? { captures: captures.map((c) => ({ ...c })) } : {}),
  };
  tx.audit({ actor: 'system', action: type, entityType: 'change_request', entityId: crId, data });
  tx.emit({ type, entityType: 'change_request', entityId: crId, actor: 'system', data });
}

/** The undo of a target succeeded: its apply row reads `rolled_back`. */
async function markApplyRolledBack(tx: Tx, crId: string, t: RolloutTargetEntity): Promise<void> {
  await tx.manager.update(
    RolloutTargetEntity,
    { changeRequestId: crId, phase: 'apply', targetType: t.targetType, targetId: t.targetId },
    { status: 'rolled_back' },
  );
}

/** Marks the target failed (its effect was rolled back with its savepoint); true when the CR is now halted. */
export async function recordFailure(
  tx: Tx,
  rollout: RolloutEntity,
  t: RolloutTargetEntity,
  failure: string,
  halts: RolloutHalts,
): Promise<boolean> {
  const crId = rollout.changeRequestId;
  const phase = rollout.phase;
  const moved = await rolloutStore.moveTarget(
    tx.manager,
    t.id,
    ['pending', 'running'],
    { status: 'failed', error: failure.slice(0, 4000), finishedAt: tx.now, startedAt: tx.now },
    true,
  );
  if (!moved) return false;
  const type = phase === 'apply' ? 'change_request.target_failed' : 'change_request.target_rollback_failed';
  const data = {
    target: targetRef(t.planned),
    wave: t.waveIndex,
    idempotencyKey: t.idempotencyKey,
    error: failure,
  };
  tx.audit({ actor: 'system', action: type, entityType: 'change_request', entityId: crId, data });
  tx.emit({ type, entityType: 'change_request', entityId: crId, actor: 'system', data });
  // Executor failures are signals too (source `executor`); the halt policy judges them as failures.
  await tx.manager.insert(SignalEntity, {
    id: randomUUID(),
    source: 'executor',
    severity: 'error',
    state: 'firing',
    tenantId: t.tenantId,
    changeRequestId: crId,
    flagKey: null,
    environment: null,
    message: `${targetRef(t.planned)}: ${failure}`.slice(0, 2000),
    count: 1,
    at: tx.now,
    recordedBy: 'system',
  });
  return phase === 'apply' && (await halts.haltIfNeeded(tx, crId));
}

/**
 * A tenant health probe (the operation's `verify`) failed or timed out for a tenant the CR touched: a `probe` signal
 * scoped to the CR and the tenant, in the caller's transaction, then the halt policy's verdict (it counts as an
 * error signal: `maxErrorSignals`). The signal's message and the event say which probe failed and why; webhooks and
 * the CR's signal list show them. True when the CR is now halted.
 */
export async function recordProbeFailure(
  tx: Tx,
  rollout: RolloutEntity,
  tenantId: string,
  when: 'after_target' | 'after_bake',
  reason: string,
  halts: RolloutHalts,
): Promise<boolean> {
  const crId = rollout.changeRequestId;
  const probe = `${rollout.operation} verify`;
  const message = `probe ${probe} (${when.replace('_', ' ')}) failed for tenant ${tenantId}: ${reason}`.slice(
    0,
    2000,
  );
  const id = randomUUID();
  await tx.manager.insert(SignalEntity, {
    id,
    source: 'probe',
    severity: 'error',
    state: 'firing',
    tenantId: tenantId || null,
    changeRequestId: crId,
    flagKey: null,
    environment: null,
    message,
    count: 1,
    at: tx.now,
    recordedBy: 'system',
  });
  const data = {
    signalId: id,
    source: 'probe',
    severity: 'error',
    state: 'firing',
    count: 1,
    tenantId,
    changeRequestId: crId,
    probe: { operation: rollout.operation, endpoint: 'verify', when, reason: reason.slice(0, 500) },
  };
  tx.audit({ actor: 'system', action: 'signal.recorded', entityType: 'signal', entityId: id, data });
  tx.emit({
    type: 'signal.recorded',
    entityType: 'signal',
    entityId: id,
    actor: 'system',
    data: { ...data, message },
  });
  return halts.haltIfNeeded(tx, crId);
}
