import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import { decodeCursor, encodeCursor } from '../common/cursor';
import { unprocessable } from '../common/errors';
import { Principal } from '../common/principal';
import { TransactionRunner } from '../common/transaction';
import { ChangeRequestEntity } from '../change-requests/change-request.entity';
import { changeRequestNotFound } from '../change-requests/change-request.errors';
import { CrCommand } from '../change-requests/domain/lifecycle';
import { decideOn, loadCr, persistDecision, toActor, withRetry } from './cr.transitions';
import { RolloutEngine } from './rollout.engine';
import {
  RolloutEntity,
  RolloutPhase,
  RolloutTargetEntity,
  TARGET_STATUSES,
  TargetStatus,
} from './rollout.entity';
import { rolloutStore } from './rollout.store';

export type ProgressCounts = Record<TargetStatus, number>;

export interface RolloutProgress {
  progress: ProgressCounts;
  waves: {
    index: number;
    status: string;
    size: number;
    counts: ProgressCounts;
    startedAt: Date | null;
    finishedAt: Date | null;
  }[];
  rollbackWaves?: RolloutProgress['waves'];
  haltReason?: string;
  haltRule?: string;
  nextWaveAt?: Date | null;
  phase?: RolloutPhase;
  /** Which process holds the CR's lease, and until when. */
  leaseOwner?: string | null;
  leaseUntil?: Date | null;
}

export interface TargetView {
  type: string;
  id: string;
  tenantId: string;
  wave: number;
  phase: RolloutPhase;
  status: TargetStatus;
  attempts: number;
  error?: string;
  snapshotId?: string;
  startedAt: Date | null;
  finishedAt: Date | null;
}

const zero = (): ProgressCounts => Object.fromEntries(TARGET_STATUSES.map((s) => [s, 0])) as ProgressCounts;

/** The engine's use cases behind `/api/change-requests/:id/{execute,pause,resume,halt,abort,rollback,targets}`. */
export interface SignalView {
  id: string;
  source: string;
  severity: string;
  state: string;
  message: string;
  count: number;
  tenantId: string | null;
  flagKey: string | null;
  environment: string | null;
  changeRequestId: string | null;
  at: string;
}

@Injectable()
export class RolloutsService {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly engine: RolloutEngine,
  ) {}

  async command(
    id: string,
    p: Principal,
    type: 'pause' | 'resume' | 'halt' | 'abort' | 'rollback',
    reason?: string,
  ): Promise<void> {
    await withRetry(() =>
      this.tx.run(async (tx) => {
        const cr = await loadCr(tx, id);
        const actor = toActor(p);
        const from = cr.status;
        const d = await decideOn(tx, cr, { type, reason } as CrCommand, actor);
        const m = tx.manager;
        let data: Record<string, unknown> = {};
        if (type === 'resume' && from === 'halted') {
          // The checker saw these failures and signals; they must not halt the rollout again the moment it resumes.
          const failedByWave: Record<number, number> = {};
          for (const c of await rolloutStore.counts(m, id, 'apply')) {
            if (c.status === 'failed') failedByWave[c.waveIndex] = c.n;
          }
          await m.update(
            RolloutEntity,
            { changeRequestId: id },
            { acknowledged: { at: tx.now.toISOString(), failedByWave } },
          );
          data = { acknowledged: failedByWave };
        }
        if (type === 'abort') {
          await m.update(
            RolloutTargetEntity,
            { changeRequestId: id, phase: 'apply', status: In(['pending', 'running']) },
            { status: 'skipped', finishedAt: tx.now },
          );
          await m.update(
            RolloutEntity,
            { changeRequestId: id },
            { finishedAt: tx.now, leaseOwner: null, leaseUntil: null },
          );
        }
        if (type === 'rollback') data = await this.engine.planRollback(tx, cr);
        if (type === 'halt') {
          await m.update(
            RolloutEntity,
            { changeRequestId: id },
            { haltRule: 'manual', haltReason: reason ?? 'halted by an operator' },
          );
        }
        await persistDecision(tx, cr, d, actor, {}, data);
        tx.afterCommit(() => this.engine.poke());
      }),
    );
  }

  async statusOf(id: string): Promise<Pick<ChangeRequestEntity, 'status' | 'statusReason'>> {
    const cr = await this.tx.run((tx) =>
      tx.manager.findOne(ChangeRequestEntity, {
        where: { id },
        select: { id: true, status: true, statusReason: true },
      }),
    );
    if (!cr) throw changeRequestNotFound(id);
    return cr;
  }

  /** `GET /api/change-requests/:id/signals`: the signals that concern its rollout, newest first (at most 200). */
  async signals(id: string): Promise<{ items: SignalView[] }> {
    await this.statusOf(id);
    const rows = await this.tx.read((m) => this.engine.signalsOf(m, id, 200));
    return {
      items: rows.map((s) => ({
        id: s.id,
        source: s.source,
        severity: s.severity,
        state: s.state,
        message: s.message,
        count: s.count,
        tenantId: s.tenantId,
        flagKey: s.flagKey,
        environment: s.environment,
        changeRequestId: s.changeRequestId,
        at: s.at.toISOString(),
      })),
    };
  }

  /** For `GET /api/change-requests/:id`: per-status and per-wave counts, and why it halted. Null if never run. */
  async progress(id: string): Promise<RolloutProgress | null> {
    return this.tx.run(async (tx) => {
      const rollout = await rolloutStore.find(tx.manager, id);
      if (!rollout) return null;
      const out: RolloutProgress = {
        progress: zero(),
        waves: [],
        phase: rollout.phase,
        nextWaveAt: rollout.nextWaveAt,
        leaseOwner: rollout.leaseOwner,
        leaseUntil: rollout.leaseUntil,
        ...(rollout.haltReason
          ? { haltReason: rollout.haltReason, haltRule: rollout.haltRule ?? undefined }
          : {}),
      };
      for (const phase of ['apply', 'undo'] as const) {
        const waves = await rolloutStore.waves(tx.manager, id, phase);
        if (phase === 'undo' && waves.length === 0) continue;
        const counts = await rolloutStore.counts(tx.manager, id, phase);
        const list = waves.map((w) => {
          const c = zero();
          for (const x of counts) if (x.waveIndex === w.waveIndex) c[x.status] += x.n;
          return {
            index: w.waveIndex,
            status: w.status,
            size: w.size,
            counts: c,
            startedAt: w.startedAt,
            finishedAt: w.finishedAt,
          };
        });
        if (phase === 'apply') {
          out.waves = list;
          for (const x of counts) out.progress[x.status] += x.n;
        } else {
          out.rollbackWaves = list;
        }
      }
      return out;
    });
  }

  async targets(
    id: string,
    q: { status?: string; phase?: string; cursor?: string; limit?: number },
  ): Promise<{ items: TargetView[]; nextCursor?: string }> {
    if (q.status !== undefined && !(TARGET_STATUSES as readonly string[]).includes(q.status)) {
      throw unprocessable('ROLLOUT.BAD_STATUS', `status must be one of ${TARGET_STATUSES.join(', ')}`, [
        { field: 'status', reason: `must be one of ${TARGET_STATUSES.join(', ')}` },
      ]);
    }
    if (q.phase !== undefined && q.phase !== 'apply' && q.phase !== 'undo') {
      throw unprocessable('ROLLOUT.BAD_PHASE', 'phase must be apply or undo', [
        { field: 'phase', reason: 'must be apply or undo' },
      ]);
    }
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
    const after = decodeCursor(
      q.cursor,
      (v): v is [number, number] =>
        Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === 'number'),
    );
    return this.tx.run(async (tx) => {
      const cr = await tx.manager.findOne(ChangeRequestEntity, { where: { id }, select: { id: true } });
      if (!cr) throw changeRequestNotFound(id);
      const qb = tx.manager
        .createQueryBuilder(RolloutTargetEntity, 't')
        .where('t.change_request_id = :id AND t.phase = :phase', { id, phase: q.phase ?? 'apply' })
        .orderBy('t.wave_index', 'ASC')
        .addOrderBy('t.position', 'ASC')
        .take(limit + 1);
      if (q.status) qb.andWhere('t.status = :status', { status: q.status });
      if (after) {
        qb.andWhere('(t.wave_index > :w OR (t.wave_index = :w AND t.position > :p))', {
          w: after[0],
          p: after[1],
        });
      }
      const rows = await qb.getMany();
      const page = rows.slice(0, limit);
      const items = page.map((t) => ({
        type: t.targetType,
        id: t.targetId,
        tenantId: t.tenantId,
        wave: t.waveIndex,
        phase: t.phase,
        status: t.status,
        attempts: t.attempts,
        ...(t.error ? { error: t.error } : {}),
        ...(t.snapshotId ? { snapshotId: t.snapshotId } : {}),
        startedAt: t.startedAt,
        finishedAt: t.finishedAt,
      }));
      const last = page[page.length - 1];
      return rows.length > limit
        ? { items, nextCursor: encodeCursor([last.waveIndex, last.position]) }
        : { items };
    });
  }
}
