import { EntityManager } from 'typeorm';
import {
  RolloutEntity,
  RolloutPhase,
  RolloutTargetEntity,
  RolloutWaveEntity,
  TargetStatus,
} from './rollout.entity';

/** Reads and writes the rollout tables through the caller's manager (never opens a transaction). */
export const rolloutStore = {
  async find(m: EntityManager, crId: string): Promise<RolloutEntity | null> {
    return m.findOne(RolloutEntity, { where: { changeRequestId: crId } });
  },

  async insertTargets(m: EntityManager, rows: RolloutTargetEntity[]): Promise<void> {
    // Chunked: SQLite limits the bound parameters of one statement.
    for (let i = 0; i < rows.length; i += 50) await m.insert(RolloutTargetEntity, rows.slice(i, i + 50));
  },

  async insertWaves(m: EntityManager, rows: RolloutWaveEntity[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 100) await m.insert(RolloutWaveEntity, rows.slice(i, i + 100));
  },

  /** Counts per wave and status for one phase. */
  async counts(
    m: EntityManager,
    crId: string,
    phase: RolloutPhase,
  ): Promise<{ waveIndex: number; status: TargetStatus; n: number }[]> {
    const raw = await m
      .createQueryBuilder(RolloutTargetEntity, 't')
      .select('t.wave_index', 'waveIndex')
      .addSelect('t.status', 'status')
      .addSelect('COUNT(*)', 'n')
      .where('t.change_request_id = :crId AND t.phase = :phase', { crId, phase })
      .groupBy('t.wave_index')
      .addGroupBy('t.status')
      .getRawMany<{ waveIndex: number | string; status: TargetStatus; n: number | string }>();
    return raw.map((r) => ({ waveIndex: Number(r.waveIndex), status: r.status, n: Number(r.n) }));
  },

  async waves(m: EntityManager, crId: string, phase: RolloutPhase): Promise<RolloutWaveEntity[]> {
    return m.find(RolloutWaveEntity, {
      where: { changeRequestId: crId, phase },
      order: { waveIndex: 'ASC' },
    });
  },

  /** Sets the target's status only if it is still in one of `from`; returns whether it did. */
  async moveTarget(
    m: EntityManager,
    id: string,
    from: TargetStatus[],
    changes: Partial<RolloutTargetEntity>,
    bumpAttempts = false,
  ): Promise<boolean> {
    const qb = m
      .createQueryBuilder()
      .update(RolloutTargetEntity)
      .set(bumpAttempts ? { ...changes, attempts: () => 'attempts + 1' } : changes)
      .where('id = :id AND status IN (:...from)', { id, from });
    const res = await qb.execute();
    return res.affected === 1;
  },
};
