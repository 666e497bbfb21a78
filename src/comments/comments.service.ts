// Discussion on a change request (issue 15): post and list comments. A comment is part of the audit log (its body
// hashed, like every reason) and emits `change_request.commented` with the people it mentions, so webhooks and the
// CR's live stream hear about it. It never touches the change request's row, plan or hash.
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import { ChangeRequestEntity } from '../change-requests/change-request.entity';
import { changeRequestNotFound } from '../change-requests/change-request.errors';
import { sha256Hex } from '../common/canonical-json';
import { actorId, Principal } from '../common/principal';
import { TransactionRunner } from '../common/transaction';
import { PeopleService } from '../people/people.service';
import { findMentions, Person, userActor } from '../people/person';
import { ChangeRequestCommentEntity } from './comment.entity';

export interface CommentView {
  id: string;
  changeRequestId: string;
  author: Person;
  body: string;
  mentions: Person[];
  createdAt: Date;
}

export interface MentionView extends CommentView {
  changeRequest: { id: string; title: string; status: string };
}

@Injectable()
export class CommentsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tx: TransactionRunner,
    private readonly people: PeopleService,
  ) {}

  async post(p: Principal, crId: string, body: string): Promise<CommentView> {
    const author = actorId(p);
    const saved = await this.tx.run(async (tx) => {
      const cr = await tx.manager.findOne(ChangeRequestEntity, { where: { id: crId } });
      if (!cr) throw changeRequestNotFound(crId);
      const mentioned = findMentions(body, await this.people.mentionable(tx.manager));
      const row: ChangeRequestCommentEntity = {
        id: randomUUID(),
        changeRequestId: cr.id,
        author,
        body,
        mentions: mentioned.map((m) => m.id),
        createdAt: tx.now,
      };
      await tx.manager.insert(ChangeRequestCommentEntity, row);
      const mentions = row.mentions.map(userActor);
      // Ids and hashes only in the audit log; the text travels in the event, as rejection comments do.
      tx.audit({
        actor: author,
        action: 'change_request.commented',
        entityType: 'change_request',
        entityId: cr.id,
        data: { commentId: row.id, revision: cr.revision, bodySha256: sha256Hex(body), mentions },
      });
      tx.emit({
        type: 'change_request.commented',
        entityType: 'change_request',
        entityId: cr.id,
        actor: author,
        data: {
          id: cr.id,
          title: cr.title,
          operation: cr.operation,
          status: cr.status,
          revision: cr.revision,
          environment: cr.environment,
          targetCount: cr.targetCount,
          author: cr.authorId,
          commentId: row.id,
          commentBy: author,
          comment: body,
          mentions,
        },
      });
      return row;
    });
    const [view] = await this.views([saved]);
    return view;
  }

  /** Oldest first: the discussion reads in the order it happened, beside the lifecycle history. */
  async list(crId: string): Promise<CommentView[]> {
    const m = this.dataSource.manager;
    if (!(await m.exists(ChangeRequestEntity, { where: { id: crId } }))) throw changeRequestNotFound(crId);
    const rows = await m.find(ChangeRequestCommentEntity, {
      where: { changeRequestId: crId },
      order: { createdAt: 'ASC', id: 'ASC' },
      take: 1000,
    });
    return this.views(rows);
  }

  /** The inbox's "Mentions": the latest comments that mention this user, newest first, with their CR. */
  async mentionsOf(userId: string, limit = 50): Promise<MentionView[]> {
    const m = this.dataSource.manager;
    // simple-json is text on both databases: the quoted id inside the JSON array is a safe, exact substring.
    const rows = await m
      .createQueryBuilder(ChangeRequestCommentEntity, 'c')
      .where('c.mentions LIKE :id', { id: `%"${userId}"%` })
      .orderBy('c.created_at', 'DESC')
      .limit(limit)
      .getMany();
    const crs = rows.length
      ? await m.find(ChangeRequestEntity, {
          where: { id: In([...new Set(rows.map((r) => r.changeRequestId))]) },
          select: { id: true, title: true, status: true },
        })
      : [];
    const byId = new Map(crs.map((c) => [c.id, c]));
    const views = await this.views(rows);
    return views.flatMap((v) => {
      const cr = byId.get(v.changeRequestId);
      return cr ? [{ ...v, changeRequest: { id: cr.id, title: cr.title, status: cr.status } }] : [];
    });
  }

  private async views(rows: ChangeRequestCommentEntity[]): Promise<CommentView[]> {
    const names = await this.people.resolve(rows.flatMap((r) => [r.author, ...r.mentions.map(userActor)]));
    return rows.map((r) => ({
      id: r.id,
      changeRequestId: r.changeRequestId,
      author: names.get(r.author)!,
      body: r.body,
      mentions: r.mentions.map((id) => names.get(userActor(id))!),
      createdAt: r.createdAt,
    }));
  }
}
