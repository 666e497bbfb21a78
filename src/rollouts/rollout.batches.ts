// Running a wave's targets whose operation applies inside Wavegate's database (docs/decisions/0005-wave-engine.md,
// "Exactly once"): the fetched targets are cut into batches (WAVEGATE_ENGINE_BATCH) run with bounded concurrency
// (WAVEGATE_ENGINE_CONCURRENCY). A batch is one transaction: the guard, then each target's apply (or undo) and its
// success record. If any target throws, the batch runs again "carefully", one savepoint per target, so a failing
// target rolls back alone and is recorded as failed.
import { performance } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import { isTransientDatabaseError } from '../common/database-errors';
import { DomainError } from '../common/errors';
import { TransactionRunner, Tx } from '../common/transaction';
import { ChangeRequestApprovalEntity, ChangeRequestEntity } from '../change-requests/change-request.entity';
import { EngineExecutionContext } from '../operations/builtin.apply';
import { Operation } from '../operations/operation.types';
import { EngineLease } from './engine.lease';
import { EngineSettings } from './engine.settings';
import { RolloutEntity, RolloutTargetEntity } from './rollout.entity';
import { RolloutHalts } from './rollout.halts';
import { rolloutStore } from './rollout.store';
import { markSucceeded, recordFailure } from './target.outcomes';

const YIELD_EVERY_MS = 10;

export class InDatabaseRunner {
  // Same logger name as before the split: operators grep for it.
  private readonly logger = new Logger('RolloutEngine');
  private lastYield = 0;

  constructor(
    private readonly tx: TransactionRunner,
    private readonly lease: EngineLease,
    private readonly halts: RolloutHalts,
    private readonly settings: EngineSettings,
    /** True once the process is shutting down: no new batch starts. */
    private readonly stopped: () => boolean,
  ) {}

  /** Runs the fetched targets of the current wave; 'wait' when the CR stopped (halt, pause, lost lease). */
  async run(
    op: Operation<unknown>,
    rollout: RolloutEntity,
    targets: RolloutTargetEntity[],
  ): Promise<'again' | 'wait'> {
    const size = this.settings.batchSize;
    const chunks: RolloutTargetEntity[][] = [];
    for (let i = 0; i < targets.length; i += size) chunks.push(targets.slice(i, i + size));
    let stop = false;
    let next = 0;
    const worker = async () => {
      while (!stop && !this.stopped() && next < chunks.length) {
        const chunk = chunks[next++];
        if ((await this.runBatch(op, rollout, chunk)) === 'stopped') stop = true;
        // better-sqlite3 answers synchronously, so without this the loop would never yield to the event loop and
        // HTTP requests (a signal, a pause, a progress read) would wait for the whole wave.
        if (performance.now() - this.lastYield > YIELD_EVERY_MS) {
          await new Promise((r) => setImmediate(r));
          this.lastYield = performance.now();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.concurrency, chunks.length) }, worker));
    return stop ? 'wait' : 'again';
  }

  /**
   * The fast path: the whole batch in one transaction without savepoints (each target: claim-and-apply, mark
   * succeeded, audit entry, outbox event). If any target throws, that transaction rolls back as a whole and the batch
   * is run again the careful way (`runCarefully`), where a failing target rolls back alone and is recorded.
   */
  private async runBatch(
    op: Operation<unknown>,
    rollout: RolloutEntity,
    batch: RolloutTargetEntity[],
  ): Promise<'ok' | 'stopped'> {
    if (batch.length === 1) return this.runCarefully(op, rollout, batch);
    const crId = rollout.changeRequestId;
    const phase = rollout.phase;
    const fn = phase === 'apply' ? op.apply : op.undo;
    const prefetched = await this.prefetch(op, rollout, batch);
    if (!fn) return this.runCarefully(op, rollout, batch, prefetched);
    try {
      return await this.tx.run(async (tx) => {
        if (!(await this.lease.guard(tx, crId, phase))) return 'stopped';
        for (const t of batch) {
          const ctx = executionContext(tx, rollout, t, prefetched);
          await fn.call(op, t.planned, ctx as never);
          await markSucceeded(tx, rollout, t, ctx.result, false);
        }
        return 'ok';
      });
    } catch {
      return this.runCarefully(op, rollout, batch, prefetched);
    }
  }

  /** The operation's reads from outside the database for this batch, before its transaction opens (apply only). */
  private async prefetch(
    op: Operation<unknown>,
    rollout: RolloutEntity,
    batch: RolloutTargetEntity[],
  ): Promise<Map<string, unknown> | undefined> {
    if (!op.prefetch || rollout.phase !== 'apply') return undefined;
    return op.prefetch(
      batch.map((t) => t.planned),
      { params: rollout.params, changeRequestId: rollout.changeRequestId },
    );
  }

  /**
   * Runs a batch of targets in ONE transaction, each target inside its own savepoint: a target's effect, snapshot,
   * audit entry and outbox event commit together (with the batch) or not at all, and a failing target rolls back
   * alone and is recorded as failed. Batching only amortises the transaction and ledger overhead; the guard runs
   * first, so after a halt or a lost lease no target of the batch starts.
   */
  private async runCarefully(
    op: Operation<unknown>,
    rollout: RolloutEntity,
    batch: RolloutTargetEntity[],
    prefetched?: Map<string, unknown>,
  ): Promise<'ok' | 'stopped'> {
    const crId = rollout.changeRequestId;
    const phase = rollout.phase;
    const fn = phase === 'apply' ? op.apply : op.undo;
    if (prefetched === undefined) prefetched = await this.prefetch(op, rollout, batch);
    return this.tx.run(async (tx) => {
      if (!(await this.lease.guard(tx, crId, phase))) return 'stopped';
      for (const t of batch) {
        const audits: Parameters<Tx['audit']>[0][] = [];
        const events: Parameters<Tx['emit']>[0][] = [];
        let failure: string | null = null;
        let claimed = true;
        try {
          await tx.manager.transaction(async (sp) => {
            const child: Tx = {
              manager: sp,
              now: tx.now,
              audit: (e) => audits.push(e),
              emit: (e) => events.push(e),
              afterCommit: (f) => tx.afterCommit(f),
            };
            claimed = await rolloutStore.moveTarget(
              sp,
              t.id,
              ['pending', 'running'],
              { status: 'running', startedAt: tx.now },
              true,
            );
            if (!claimed) return;
            const ctx = executionContext(child, rollout, t, prefetched);
            if (!fn) throw new Error(`operation ${op.name} has no ${phase === 'apply' ? 'apply' : 'undo'}`);
            await fn.call(op, t.planned, ctx as never);
            await markSucceeded(child, rollout, t, ctx.result, true);
          });
        } catch (e) {
          // A database error about the moment (deadlock, serialization, lost connection, busy) says nothing about
          // the target: the batch rolls back and is retried on the next tick. Anything else the operation threw,
          // a constraint its write broke included, is the target's failure (retrying it would never end).
          if (isTransientDatabaseError(e)) throw e;
          failure = e instanceof Error ? e.message : String(e);
          if (!(e instanceof DomainError)) this.logger.warn(`target ${t.idempotencyKey} failed: ${failure}`);
        }
        if (!claimed) continue;
        if (failure === null) {
          for (const e of audits) tx.audit(e);
          for (const e of events) tx.emit(e);
          continue;
        }
        if (await recordFailure(tx, rollout, t, failure, this.halts)) return 'stopped';
      }
      return 'ok';
    });
  }
}

/** What an operation's apply/undo gets for one target, in `tx` (the batch's transaction or the target's savepoint). */
function executionContext(
  tx: Tx,
  rollout: RolloutEntity,
  t: RolloutTargetEntity,
  prefetched: Map<string, unknown> | undefined,
): EngineExecutionContext<unknown> {
  const crId = rollout.changeRequestId;
  return {
    tx,
    changeRequestId: crId,
    revision: rollout.revision,
    params: rollout.params,
    idempotencyKey: t.idempotencyKey,
    result: {},
    ...(prefetched ? { prefetched } : {}),
    approvalRecord: async () => {
      const cr = await tx.manager.findOne(ChangeRequestEntity, { where: { id: crId } });
      const approvals = await tx.manager.find(ChangeRequestApprovalEntity, {
        where: { changeRequestId: crId, revision: rollout.revision },
        order: { at: 'ASC' },
      });
      return { planHash: cr?.planHash ?? null, approvers: approvals.map((a) => a.userId) };
    },
  };
}
