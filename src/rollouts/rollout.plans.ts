// Turning plans into execution state (docs/decisions/0005-wave-engine.md, "State lives in tables"): `materialise`
// copies the approved stored plan into a rollout row, its waves and its targets, once, when the CR starts (the
// engine never re-resolves targets); `planRollback` skips what never ran and plans the undo of what succeeded,
// newest wave first, as waves of their own.
import { randomUUID } from 'node:crypto';
import { In } from 'typeorm';
import { DomainError } from '../common/errors';
import { Tx } from '../common/transaction';
import { ChangeRequestEntity, ChangeRequestPlanEntity } from '../change-requests/change-request.entity';
import { OperationRegistry } from '../operations/operation.registry';
import { PlannedTarget } from '../operations/operation.types';
import { DEFAULT_HALT_POLICY, HaltPolicy, validateHaltPolicy } from '../change-requests/domain/halt-policy';
import { RolloutEntity, RolloutPhase, RolloutTargetEntity, RolloutWaveEntity } from './rollout.entity';
import { rolloutStore } from './rollout.store';

interface StoredPlan {
  operation: string;
  params?: Record<string, unknown>;
  haltPolicy?: Partial<HaltPolicy>;
  waveSettings?: { bakeSeconds?: number };
  waves: { index: number; targets: PlannedTarget[] }[];
}

/** The idempotency key of applying a target: `crId:revision:type:id`. */
export const applyKey = (crId: string, revision: number, t: { type: string; id: string }) =>
  `${crId}:${revision}:${t.type}:${t.id}`;
/** The idempotency key of undoing it on rollback: `crId:revision:undo:type:id`. */
export const undoKey = (crId: string, revision: number, t: { type: string; id: string }) =>
  `${crId}:${revision}:undo:${t.type}:${t.id}`;

export class RolloutPlans {
  constructor(private readonly registry: OperationRegistry) {}

  /** Materialises the stored plan into waves and targets (called in the execute transaction). */
  async materialise(tx: Tx, cr: ChangeRequestEntity): Promise<{ waves: number; targets: number }> {
    const m = tx.manager;
    const planRow = await m.findOne(ChangeRequestPlanEntity, { where: { changeRequestId: cr.id } });
    if (!planRow || planRow.revision !== cr.revision || planRow.planHash !== cr.planHash) {
      throw new DomainError(
        'conflict',
        'ROLLOUT.PLAN_MISMATCH',
        `the stored plan of ${cr.id} is not the approved revision`,
      );
    }
    const plan = JSON.parse(planRow.plan) as StoredPlan;
    const op = this.registry.get(cr.operation);
    if (!op.apply && !op.external) {
      throw new DomainError(
        'unprocessable',
        'ROLLOUT.NOT_EXECUTABLE',
        `operation ${op.name} cannot be executed yet`,
      );
    }
    const haltPolicy = plan.haltPolicy ? validateHaltPolicy(plan.haltPolicy) : { ...DEFAULT_HALT_POLICY };
    await m.insert(RolloutEntity, {
      changeRequestId: cr.id,
      revision: cr.revision,
      operation: cr.operation,
      params: (plan.params ?? {}) as never,
      haltPolicy: haltPolicy as never,
      phase: 'apply',
      bakeSeconds: plan.waveSettings?.bakeSeconds ?? 600,
      nextWaveAt: null,
      leaseOwner: null,
      leaseUntil: null,
      acknowledged: null,
      haltRule: null,
      haltReason: null,
      startedAt: tx.now,
      finishedAt: null,
    });
    const waves: RolloutWaveEntity[] = [];
    const targets: RolloutTargetEntity[] = [];
    for (const w of plan.waves) {
      waves.push(waveRow(cr.id, 'apply', w.index, w.targets.length));
      w.targets.forEach((t, position) =>
        targets.push(targetRow(cr.id, 'apply', w.index, position, t, applyKey(cr.id, cr.revision, t))),
      );
    }
    await rolloutStore.insertWaves(m, waves);
    await rolloutStore.insertTargets(m, targets);
    return { waves: waves.length, targets: targets.length };
  }

  /** Rollback: skips what never ran and plans the undo of what succeeded, newest wave first, as waves of its own. */
  async planRollback(tx: Tx, cr: ChangeRequestEntity): Promise<{ waves: number; targets: number }> {
    const m = tx.manager;
    const rollout = await rolloutStore.find(m, cr.id);
    if (!rollout)
      throw new DomainError('conflict', 'ROLLOUT.NOT_STARTED', `change request ${cr.id} never ran`);
    const op = this.registry.get(cr.operation);
    if (!op.undo && !op.external?.undo) {
      throw new DomainError(
        'unprocessable',
        'CHANGE_REQUEST.NOT_REVERSIBLE',
        `operation ${op.name} cannot be undone`,
      );
    }
    await m.update(
      RolloutTargetEntity,
      { changeRequestId: cr.id, phase: 'apply', status: In(['pending', 'running']) },
      { status: 'skipped', finishedAt: tx.now },
    );
    const done = await m.find(RolloutTargetEntity, {
      where: { changeRequestId: cr.id, phase: 'apply', status: 'succeeded' },
      order: { waveIndex: 'DESC', position: 'DESC' },
    });
    const byWave = new Map<number, RolloutTargetEntity[]>();
    for (const t of done) byWave.set(t.waveIndex, [...(byWave.get(t.waveIndex) ?? []), t]);
    const waves: RolloutWaveEntity[] = [];
    const targets: RolloutTargetEntity[] = [];
    let index = 0;
    for (const [, list] of byWave) {
      index++;
      waves.push(waveRow(cr.id, 'undo', index, list.length));
      list.forEach((t, position) =>
        targets.push(
          targetRow(cr.id, 'undo', index, position, t.planned, undoKey(cr.id, cr.revision, t.planned)),
        ),
      );
    }
    await rolloutStore.insertWaves(m, waves);
    await rolloutStore.insertTargets(m, targets);
    await m.update(
      RolloutEntity,
      { changeRequestId: cr.id },
      { phase: 'undo', nextWaveAt: null, finishedAt: null },
    );
    return { waves: waves.length, targets: targets.length };
  }
}

function waveRow(crId: string, phase: RolloutPhase, index: number, size: number): RolloutWaveEntity {
  return Object.assign(new RolloutWaveEntity(), {
    id: `${crId}:${phase}:${index}`,
    changeRequestId: crId,
    phase,
    waveIndex: index,
    size,
    status: 'pending',
    startedAt: null,
    finishedAt: null,
  });
}

function targetRow(
  crId: string,
  phase: RolloutPhase,
  wave: number,
  position: number,
  t: PlannedTarget,
  key: string,
): RolloutTargetEntity {
  return Object.assign(new RolloutTargetEntity(), {
    id: randomUUID(),
    changeRequestId: crId,
    phase,
    waveIndex: wave,
    position,
    targetType: t.type,
    targetId: t.id,
    tenantId: t.tenantId,
    planned: t,
    status: 'pending',
    attempts: 0,
    error: null,
    idempotencyKey: key,
    snapshotId: null,
    startedAt: null,
    finishedAt: null,
  });
}
