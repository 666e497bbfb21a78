// Moving a rollout between waves and to its end (docs/decisions/0005-wave-engine.md): starting approved CRs whose
// scheduled time has come and materialising CRs started through the API, starting a wave, finishing it (and setting
// the bake), and completing the CR. Each is one transaction, conditional on the row's current status, so its audit
// entry and event are written once whatever replica or retry gets there.
import { Logger } from '@nestjs/common';
import { Brackets } from 'typeorm';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors';
import { TransactionRunner } from '../common/transaction';
import { ChangeRequestEntity } from '../change-requests/change-request.entity';
import { SYSTEM_ACTOR } from '../change-requests/domain/lifecycle';
import { decideOn, persistDecision } from './cr.transitions';
import { ACTIVE_STATUS, EngineLease } from './engine.lease';
import { RolloutEntity, RolloutPhase, RolloutWaveEntity } from './rollout.entity';
import { RolloutPlans } from './rollout.plans';
import { rolloutStore } from './rollout.store';

export class WaveTransitions {
  // Same logger name as before the split: operators grep for it.
  private readonly logger = new Logger('RolloutEngine');

  constructor(
    private readonly tx: TransactionRunner,
    private readonly lease: EngineLease,
    private readonly plans: RolloutPlans,
    private readonly clock: Clock,
  ) {}

  /**
   * Approved CRs whose scheduledAt has come are started by the system; CRs started through the change-request API
   * (execute, break-glass) have no rollout yet: their stored plan is materialised here, once (the rollout's primary
   * key makes a second replica's attempt fail harmlessly).
   */
  async startScheduled(): Promise<void> {
    const now = this.clock.now();
    const due = await this.tx.run(async (tx) =>
      tx.manager
        .createQueryBuilder(ChangeRequestEntity, 'c')
        .leftJoin(RolloutEntity, 'r', 'r.change_request_id = c.id')
        .select('c.id', 'id')
        .addSelect('c.status', 'status')
        .where('r.change_request_id IS NULL')
        .andWhere(
          new Brackets((b) =>
            b
              .where("c.status = 'running'")
              .orWhere("c.status = 'approved' AND c.scheduled_at IS NOT NULL AND c.scheduled_at <= :now", {
                now,
              }),
          ),
        )
        .getRawMany<{ id: string; status: string }>(),
    );
    for (const { id } of due) {
      try {
        await this.tx.run(async (tx) => {
          const cr = await tx.manager.findOne(ChangeRequestEntity, { where: { id } });
          if (!cr || (await rolloutStore.find(tx.manager, id))) return;
          if (cr.status === 'approved') {
            const d = await decideOn(tx, cr, { type: 'execute' }, SYSTEM_ACTOR);
            await persistDecision(tx, cr, d, SYSTEM_ACTOR, {}, { scheduled: true });
          } else if (cr.status !== 'running') return;
          await this.plans.materialise(tx, cr);
        });
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        this.logger.warn(`start of ${id} failed: ${reason}`);
        // Only a refusal about the CR itself halts it; a database error (e.g. another replica materialised the same
        // CR at the same moment: duplicate key) is retried on the next tick, which finds the rollout there.
        if (e instanceof DomainError) await this.haltUnstartable(id, reason).catch(() => undefined);
      }
    }
  }

  /** A running CR whose plan cannot be materialised must not sit silently in `running`: halt it, saying why. */
  private async haltUnstartable(id: string, reason: string): Promise<void> {
    await this.tx.run(async (tx) => {
      const cr = await tx.manager.findOne(ChangeRequestEntity, { where: { id } });
      if (!cr || cr.status !== 'running') return;
      const d = await decideOn(tx, cr, { type: 'halt', reason: `could not start: ${reason}` }, SYSTEM_ACTOR);
      await persistDecision(tx, cr, d, SYSTEM_ACTOR);
    });
  }

  /** Starts the wave (false when the guard refuses: the CR stopped or the lease is lost). */
  async startWave(crId: string, phase: RolloutPhase, wave: RolloutWaveEntity): Promise<boolean> {
    return this.tx.run(async (tx) => {
      if (!(await this.lease.guard(tx, crId, phase))) return false;
      // Conditional: a wave starts (and its event is written) once, whatever replica or retry gets here.
      const res = await tx.manager.update(
        RolloutWaveEntity,
        { id: wave.id, status: 'pending' },
        { status: 'running', startedAt: tx.now },
      );
      if (res.affected !== 1) return true;
      const type = phase === 'apply' ? 'change_request.wave_started' : 'change_request.rollback_wave_started';
      const data = { wave: wave.waveIndex, size: wave.size, phase };
      tx.audit({ actor: 'system', action: type, entityType: 'change_request', entityId: crId, data });
      tx.emit({ type, entityType: 'change_request', entityId: crId, actor: 'system', data });
      return true;
    });
  }

  /** Completes the wave with its counts and sets the end of the bake (apply phase only; rollback waves do not bake). */
  async finishWave(crId: string, rollout: RolloutEntity, wave: RolloutWaveEntity): Promise<void> {
    await this.tx.run(async (tx) => {
      if (!(await this.lease.guard(tx, crId, rollout.phase))) return;
      const counts: Record<string, number> = {};
      for (const c of await rolloutStore.counts(tx.manager, crId, rollout.phase)) {
        if (c.waveIndex === wave.waveIndex) counts[c.status] = c.n;
      }
      const res = await tx.manager.update(
        RolloutWaveEntity,
        { id: wave.id, status: 'running' },
        { status: 'completed', finishedAt: tx.now },
      );
      if (res.affected !== 1) return;
      // Rollback waves do not bake: putting tenants back should not wait.
      const bakeMs = rollout.phase === 'apply' ? rollout.bakeSeconds * 1000 : 0;
      await tx.manager.update(
        RolloutEntity,
        { changeRequestId: crId },
        { nextWaveAt: new Date(tx.now.getTime() + bakeMs) },
      );
      const type =
        rollout.phase === 'apply'
          ? 'change_request.wave_completed'
          : 'change_request.rollback_wave_completed';
      const data = { wave: wave.waveIndex, phase: rollout.phase, counts, bakeSeconds: bakeMs / 1000 };
      tx.audit({ actor: 'system', action: type, entityType: 'change_request', entityId: crId, data });
      tx.emit({ type, entityType: 'change_request', entityId: crId, actor: 'system', data });
    });
  }

  /** No wave left: the CR is completed (or rolled back) through the lifecycle, and the lease released. */
  async complete(crId: string, phase: RolloutPhase): Promise<void> {
    await this.tx.run(async (tx) => {
      const cr = await tx.manager.findOne(ChangeRequestEntity, { where: { id: crId } });
      if (!cr || cr.status !== ACTIVE_STATUS[phase]) return;
      const counts: Record<string, number> = {};
      for (const c of await rolloutStore.counts(tx.manager, crId, phase))
        counts[c.status] = (counts[c.status] ?? 0) + c.n;
      const d = await decideOn(tx, cr, { type: 'complete' }, SYSTEM_ACTOR);
      const failed = counts.failed ?? 0;
      const reason =
        phase === 'undo' && failed > 0
          ? `${failed} target(s) could not be rolled back; see the targets list`
          : undefined;
      await persistDecision(tx, cr, d, SYSTEM_ACTOR, reason ? { statusReason: reason } : {}, {
        counts,
        phase,
      });
      await tx.manager.update(
        RolloutEntity,
        { changeRequestId: crId },
        { finishedAt: tx.now, leaseOwner: null, leaseUntil: null },
      );
    });
  }
}
