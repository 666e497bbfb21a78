// Who runs a CR, and whether it may still run (docs/decisions/0005-wave-engine.md, "The runner and the lease"):
// `claim` takes or renews the lease on a rollout with one conditional UPDATE, identical on SQLite and PostgreSQL;
// `guard` is the first statement of every transaction that starts a target or moves a wave, and says whether the CR
// is still in the phase's active status and the lease still ours.
import { Brackets } from 'typeorm';
import { TransactionRunner, Tx } from '../common/transaction';
import { ChangeRequestEntity } from '../change-requests/change-request.entity';
import { EngineSettings } from './engine.settings';
import { RolloutEntity, RolloutPhase } from './rollout.entity';

/** Statuses in which the engine works on a CR, per phase. */
export const ACTIVE_STATUS: Record<RolloutPhase, 'running' | 'rolling_back'> = {
  apply: 'running',
  undo: 'rolling_back',
};

export class EngineLease {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly settings: EngineSettings,
  ) {}

  /** Takes or renews the lease with one conditional UPDATE; true when this process holds it. */
  async claim(crId: string): Promise<boolean> {
    return this.tx.run(async (tx) => {
      const now = tx.now;
      const res = await tx.manager
        .createQueryBuilder()
        .update(RolloutEntity)
        .set({
          leaseOwner: this.settings.workerId,
          leaseUntil: new Date(now.getTime() + this.settings.leaseMs),
        })
        .where('change_request_id = :crId AND finished_at IS NULL', { crId })
        .andWhere(
          new Brackets((b) =>
            b
              .where('lease_owner = :me', { me: this.settings.workerId })
              .orWhere('lease_until IS NULL')
              .orWhere('lease_until < :now', { now }),
          ),
        )
        .execute();
      return res.affected === 1;
    });
  }

  /** Gives up every lease this process holds (graceful shutdown); returns how many. */
  async releaseAll(): Promise<number> {
    return this.tx.run(async (tx) => {
      const res = await tx.manager
        .createQueryBuilder()
        .update(RolloutEntity)
        .set({ leaseOwner: null, leaseUntil: null })
        .where('lease_owner = :me', { me: this.settings.workerId })
        .execute();
      return res.affected ?? 0;
    });
  }

  /**
   * Inside a target's (or wave's) transaction: is the CR still in the phase's active status and is the lease still
   * ours? On PostgreSQL the rows are read FOR SHARE, so a halt or a lease takeover waits for this transaction and
   * the next one sees it.
   */
  async guard(tx: Tx, crId: string, phase: RolloutPhase): Promise<boolean> {
    const qb = tx.manager
      .createQueryBuilder(RolloutEntity, 'r')
      .innerJoin(ChangeRequestEntity, 'c', 'c.id = r.change_request_id')
      .select('c.status', 'status')
      .where('r.change_request_id = :crId AND r.lease_owner = :me AND r.lease_until >= :now', {
        crId,
        me: this.settings.workerId,
        now: tx.now,
      });
    if (this.tx.isPostgres) qb.setLock('pessimistic_read');
    const row = await qb.getRawOne<{ status: string }>();
    return row?.status === ACTIVE_STATUS[phase];
  }
}
