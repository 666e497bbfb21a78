// Reading change requests: one CR as the API and the UI show it (summary, plan, live progress from the wave engine,
// the commands the caller may give, whether the caller may review a break-glass execution), and the keyset-paginated
// list with its filters (status, awaiting my approval or my break-glass review).
import { Inject, Injectable, Optional } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditEntryEntity } from '../audit/audit-entry.entity';
import { PeopleService } from '../people/people.service';
import { crPeople, crPeopleIds, CrPeopleSource } from '../people/people.views';
import { Clock } from '../common/clock';
import { decodeCursor, encodeCursor } from '../common/cursor';
import { Principal } from '../common/principal';
import { breakGlassReviewRefusal } from './domain/break-glass-review';
import { Actor, availableCommands, CrSnapshot, CrStatus, validApprovers } from './domain/lifecycle';
import { toActor } from './change-request.actor';
import { ChangeRequestApprovalEntity, ChangeRequestEntity } from './change-request.entity';
import { changeRequestStore as store, toSnapshot } from './change-request.store';
import { approvalsOf, loadChangeRequest } from './change-request.persistence';
import type { Plan } from './plan.builder';
import { ROLLOUT_PROGRESS, RolloutProgressReader } from './rollout-progress.port';

export interface ListQuery {
  status?: CrStatus;
  awaiting?: 'me';
  /** `pending`: executed through break-glass, not reviewed yet; `done`: reviewed. */
  breakGlassReview?: 'pending' | 'done';
  cursor?: string;
  limit: number;
}

const isListCursor = (v: unknown): v is { at: string; id: string } =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as { at?: unknown }).at === 'string' &&
  typeof (v as { id?: unknown }).id === 'string';

@Injectable()
export class ChangeRequestQueries {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(Clock) private readonly clock: Clock,
    // The wave engine (issue 4) adds live progress, per-wave counts and the halt reason once the CR has run.
    @Optional() @Inject(ROLLOUT_PROGRESS) private readonly rollouts?: RolloutProgressReader,
    // People by name (issue 15): `people` in every view.
    @Optional() private readonly peopleService?: PeopleService,
  ) {}

  private async withPeople<T extends Record<string, unknown>>(
    views: { view: T; source: CrPeopleSource }[],
  ): Promise<T[]> {
    if (!this.peopleService) return views.map((v) => v.view);
    const names = await this.peopleService.resolve(views.flatMap((v) => crPeopleIds(v.source)));
    return views.map((v) => ({ ...v.view, people: crPeople(v.source, names) }));
  }

  private peopleSource(cr: ChangeRequestEntity, approvals: ChangeRequestApprovalEntity[]): CrPeopleSource {
    return {
      authorId: cr.authorId,
      editorIds: cr.editorIds,
      approverIds: approvals.filter((a) => a.revision === cr.revision).map((a) => a.userId),
      breakGlass: cr.breakGlass,
    };
  }

  async get(p: Principal, id: string): Promise<Record<string, unknown>> {
    const m = this.dataSource.manager;
    const { cr, approvals, snapshot } = await loadChangeRequest(m, id);
    const planRow = await store.plan(m, id);
    const plan = planRow ? (JSON.parse(planRow.plan) as Plan) : null;
    const started = await m.findOne(AuditEntryEntity, {
      where: { entityType: 'change_request', entityId: id, action: 'change_request.started' },
      order: { seq: 'DESC' },
      select: { seq: true, actor: true },
    });
    const [summary] = await this.withPeople([
      {
        view: this.summaryView(cr, approvals, snapshot),
        source: { ...this.peopleSource(cr, approvals), startedBy: started?.actor ?? null },
      },
    ]);
    return {
      ...summary,
      plan,
      ...((await this.rollouts?.progress(id)) ?? {
        progress: {
          pending: cr.targetCount,
          running: 0,
          succeeded: 0,
          failed: 0,
          skipped: 0,
          rolled_back: 0,
        },
        waves: (plan?.waves ?? []).map((w) => ({
          index: w.index,
          status: 'pending',
          counts: {
            pending: w.targets.length,
            running: 0,
            succeeded: 0,
            failed: 0,
            skipped: 0,
            rolled_back: 0,
          },
        })),
      }),
      availableCommands: availableCommands(snapshot, toActor(p), this.clock.now()),
      // For the UI: may this caller review the break-glass execution, and if not, why (null: nothing to review).
      breakGlassReviewAccess: snapshot.breakGlass ? reviewAccess(snapshot, toActor(p)) : null,
    };
  }

  async list(p: Principal, q: ListQuery): Promise<{ items: Record<string, unknown>[]; nextCursor?: string }> {
    const after = decodeCursor(q.cursor, isListCursor);
    const actor = toActor(p);
    if (q.awaiting === 'me' && !actor.roles.includes('checker')) return { items: [] };
    const qb = this.dataSource
      .getRepository(ChangeRequestEntity)
      .createQueryBuilder('cr')
      .orderBy('cr.created_at', 'DESC')
      .addOrderBy('cr.id', 'DESC')
      .take(q.limit + 1);
    if (q.status) qb.andWhere('cr.status = :status', { status: q.status });
    if (q.breakGlassReview) {
      // `"review":` appears in the JSON only as the key: inside a string value its quotes are escaped.
      qb.andWhere('cr.break_glass IS NOT NULL').andWhere(
        q.breakGlassReview === 'pending'
          ? 'cr.break_glass NOT LIKE :reviewKey'
          : 'cr.break_glass LIKE :reviewKey',
        { reviewKey: '%"review":%' },
      );
    }
    if (q.awaiting === 'me' && q.breakGlassReview === 'pending') {
      // Awaiting my review: break-glass executions I may review (not mine, not authored or edited by me).
      qb.andWhere('cr.author_id <> :me', { me: actor.id })
        .andWhere('cr.editor_ids NOT LIKE :meJson', { meJson: `%${JSON.stringify(actor.id)}%` })
        .andWhere('cr.break_glass NOT LIKE :byMe', { byMe: `%"by":${JSON.stringify(actor.id)}%` });
    } else if (q.awaiting === 'me') {
      qb.andWhere("cr.status = 'pending'")
        .andWhere('cr.author_id <> :me', { me: actor.id })
        .andWhere('cr.editor_ids NOT LIKE :meJson', { meJson: `%${JSON.stringify(actor.id)}%` })
        .andWhere(
          'NOT EXISTS (SELECT 1 FROM change_request_approvals a WHERE a.change_request_id = cr.id AND a.revision = cr.revision AND a.user_id = :me)',
        );
    }
    if (after) {
      qb.andWhere('(cr.created_at < :at OR (cr.created_at = :at AND cr.id < :id))', {
        at: new Date(after.at),
        id: after.id,
      });
    }
    const rows = await qb.getMany();
    const page = rows.slice(0, q.limit);
    const approvals = await approvalsOf(this.dataSource.manager, page);
    const items = await this.withPeople(
      page.map((cr) => {
        const a = approvals.get(cr.id) ?? [];
        return { view: this.summaryView(cr, a, toSnapshot(cr, a)), source: this.peopleSource(cr, a) };
      }),
    );
    if (rows.length <= q.limit) return { items };
    const last = page[page.length - 1];
    return { items, nextCursor: encodeCursor({ at: last.createdAt.toISOString(), id: last.id }) };
  }

  summaryView(cr: ChangeRequestEntity, approvals: ChangeRequestApprovalEntity[], snapshot: CrSnapshot) {
    const due = expiryDeadline(snapshot);
    return {
      id: cr.id,
      title: cr.title,
      operation: cr.operation,
      operationVersion: cr.operationVersion,
      risk: cr.risk,
      environment: cr.environment,
      status: cr.status,
      statusReason: cr.statusReason,
      revision: cr.revision,
      version: cr.version,
      planHash: cr.planHash,
      requiredApprovals: cr.requiredApprovals,
      approvalReasons: cr.approvalReasons,
      approvalCount: validApprovers(snapshot).length,
      approvals: approvals.map((a) => ({
        userId: a.userId,
        planHash: a.planHash,
        revision: a.revision,
        at: a.at,
        comment: a.comment,
      })),
      author: cr.authorId,
      editors: cr.editorIds,
      justification: cr.justification,
      ticket: cr.ticket,
      targetCount: cr.targetCount,
      tenantCount: cr.tenantCount,
      selector: cr.request.selector ?? null,
      scheduledAt: cr.scheduledAt,
      submittedAt: cr.submittedAt,
      approvedAt: cr.approvedAt,
      expiresAt: due,
      pendingTtlSeconds: cr.pendingTtlSeconds,
      startWindowSeconds: cr.startWindowSeconds,
      breakGlass: cr.breakGlass,
      createdAt: cr.createdAt,
      updatedAt: cr.updatedAt,
    };
  }
}

function reviewAccess(s: CrSnapshot, actor: Actor): { allowed: boolean; code?: string; reason?: string } {
  const refusal = breakGlassReviewRefusal(s, actor);
  return refusal ? { allowed: false, code: refusal.code, reason: refusal.message } : { allowed: true };
}

/** When a pending or approved CR expires if nothing happens (the lifecycle's rule 5); null otherwise. */
function expiryDeadline(s: CrSnapshot): Date | null {
  if (s.status === 'pending' && s.submittedAt) return new Date(s.submittedAt.getTime() + s.pendingTtlMs);
  if (s.status === 'approved' && s.approvedAt) {
    return new Date(Math.max(s.approvedAt.getTime(), s.scheduledAt?.getTime() ?? 0) + s.startWindowMs);
  }
  return null;
}
