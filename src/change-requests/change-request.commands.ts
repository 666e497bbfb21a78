// Commands on an existing change request: the lifecycle's commands (submit, approve, reject, cancel, execute, pause,
// ...), each decided by the pure lifecycle and persisted in one transaction; the break-glass review after the fact
// (ADR 0010); and the expiry of pending or approved CRs past their deadline (lifecycle rule 5), swept on a timer and
// recorded at once when a command finds the CR overdue.
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import { Clock } from '../common/clock';
import { conflict, DomainError } from '../common/errors';
import { OperationRegistry } from '../operations/operation.registry';
import { Principal } from '../common/principal';
import { TransactionRunner } from '../common/transaction';
import { BreakGlassReviewInput, decideBreakGlassReview } from './domain/break-glass-review';
import {
  CR_ERROR_CODES,
  CrCommand,
  CrSnapshot,
  decide,
  expiryDue,
  SYSTEM_ACTOR,
  validApprovers,
} from './domain/lifecycle';
import { toActor } from './change-request.actor';
import { ChangeRequestEntity } from './change-request.entity';
import { changeRequestStore as store, toStoredBreakGlass } from './change-request.store';
import { loadChangeRequest, persistDecision, recordTransition, retrying } from './change-request.persistence';

@Injectable()
export class ChangeRequestCommands {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tx: TransactionRunner,
    @Inject(Clock) private readonly clock: Clock,
    private readonly registry: OperationRegistry,
  ) {}

  /** submit, approve, reject, cancel, execute (and, for the sweep and the engine, expire and the rest). */
  async command(p: Principal | 'system', id: string, command: CrCommand): Promise<void> {
    const actor = p === 'system' ? SYSTEM_ACTOR : toActor(p);
    try {
      await retrying(() =>
        this.tx.run(async (tx) => {
          const { cr, snapshot } = await loadChangeRequest(tx.manager, id);
          this.refuseIfOperationChanged(cr, command);
          const decision = decide(snapshot, command, actor, tx.now);
          await persistDecision(tx, cr, decision, actor, command);
        }),
      );
    } catch (e) {
      // An overdue CR refused an approve/edit/execute: record the expiry now rather than wait for the sweep.
      if (e instanceof DomainError && e.code === CR_ERROR_CODES.EXPIRED) await this.expireIfDue(id);
      throw e;
    }
  }

  /**
   * A provider's operations carry the provider's version; when the provider changed after the plan was built, the
   * plan no longer says what will happen: approving or starting it is refused until an edit rebuilds it.
   */
  private refuseIfOperationChanged(cr: ChangeRequestEntity, command: CrCommand): void {
    if (command.type !== 'approve' && command.type !== 'execute' && command.type !== 'break_glass_execute')
      return;
    const op = this.registry.find(cr.operation);
    if (!op?.provider || op.version === cr.operationVersion) return;
    throw conflict(
      'CHANGE_REQUEST.OPERATION_CHANGED',
      `Provider ${op.provider} is now version ${op.version}; this plan was built with version ` +
        `${cr.operationVersion}. Edit the change request to rebuild its plan, then approve that.`,
      [
        {
          field: 'operation',
          reason: `${cr.operation} changed (version ${cr.operationVersion} -> ${op.version})`,
        },
      ],
    );
  }

  /**
   * The review after the fact of a break-glass execution (design rule 8, ADR 0010): stored in the CR's
   * `break_glass` record with an audit entry and a `change_request.break_glass_reviewed` event; never changes the
   * status.
   */
  async reviewBreakGlass(p: Principal, id: string, input: BreakGlassReviewInput): Promise<void> {
    const actor = toActor(p);
    await retrying(() =>
      this.tx.run(async (tx) => {
        const { cr, snapshot } = await loadChangeRequest(tx.manager, id);
        const d = decideBreakGlassReview(snapshot, input, actor, tx.now);
        await store.updateVersioned(tx.manager, cr.id, cr.version, {
          breakGlass: toStoredBreakGlass(d.breakGlass),
          updatedAt: tx.now,
        });
        recordTransition(tx, cr, actor, d.event, cr.status, {
          approvalCount: validApprovers(snapshot).length,
          // The note goes to the event (the channel should read it) and only as a hash to the audit log.
          reason: d.review.note,
          breakGlass: { by: d.breakGlass.by, incidentRef: d.breakGlass.incidentRef },
          review: { by: d.review.by, outcome: d.review.outcome },
        });
      }),
    );
  }

  /** Expires every pending or approved CR past its deadline; returns how many. The sweeper calls it on a timer. */
  async sweepExpired(): Promise<number> {
    const now = this.clock.now();
    const candidates = await this.dataSource.getRepository(ChangeRequestEntity).find({
      where: { status: In(['pending', 'approved']) },
      select: {
        id: true,
        status: true,
        submittedAt: true,
        approvedAt: true,
        scheduledAt: true,
        pendingTtlSeconds: true,
        startWindowSeconds: true,
        risk: true,
      },
    });
    let expired = 0;
    for (const c of candidates) {
      const due = expiryDue(
        {
          status: c.status,
          submittedAt: c.submittedAt ?? undefined,
          approvedAt: c.approvedAt ?? undefined,
          scheduledAt: c.scheduledAt ?? undefined,
          pendingTtlMs: c.pendingTtlSeconds * 1000,
          startWindowMs: c.startWindowSeconds * 1000,
        } as CrSnapshot,
        now,
      );
      if (due && (await this.expireIfDue(c.id))) expired++;
    }
    return expired;
  }

  /** Records the expiry of a CR that is due; false when it is not due any more or someone else got there first. */
  private async expireIfDue(id: string): Promise<boolean> {
    try {
      await retrying(() =>
        this.tx.run(async (tx) => {
          const { cr, snapshot } = await loadChangeRequest(tx.manager, id);
          await persistDecision(
            tx,
            cr,
            decide(snapshot, { type: 'expire' }, SYSTEM_ACTOR, tx.now),
            SYSTEM_ACTOR,
            { type: 'expire' },
          );
        }),
      );
      return true;
    } catch (e) {
      if (e instanceof DomainError) return false;
      throw e;
    }
  }
}
