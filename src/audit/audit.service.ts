import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { decodeCursor, encodeCursor, isNumber } from '../common/cursor';
import { AuditEntryEntity, LedgerHeadEntity } from './audit-entry.entity';
import { ChainVerifier, VerifyResult } from './audit.chain';

export interface AuditQuery {
  entityType?: string;
  entityId?: string;
  actor?: string;
  action?: string;
  from?: Date;
  to?: Date;
  cursor?: string;
  limit: number;
}

export interface AuditItem {
  seq: number;
  at: Date;
  actor: string;
  action: string;
  entityType: string;
  entityId: string;
  data: unknown;
  prevHash: string;
  hash: string;
}

const toItem = (e: AuditEntryEntity): AuditItem => ({
  seq: e.seq,
  at: e.at,
  actor: e.actor,
  action: e.action,
  entityType: e.entityType,
  entityId: e.entityId,
  data: safeParse(e.data),
  prevHash: e.prevHash,
  hash: e.hash,
});

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return s;
  }
}

// Appends happen only through TransactionRunner (inside each use case's transaction); this service reads.
@Injectable()
export class AuditService {
  constructor(private readonly dataSource: DataSource) {}

  /** Newest first. */
  async list(q: AuditQuery): Promise<{ items: AuditItem[]; nextCursor?: string }> {
    const before = decodeCursor(q.cursor, isNumber);
    const qb = this.dataSource.getRepository(AuditEntryEntity).createQueryBuilder('a');
    if (q.entityType) qb.andWhere('a.entity_type = :et', { et: q.entityType });
    if (q.entityId) qb.andWhere('a.entity_id = :eid', { eid: q.entityId });
    if (q.actor) qb.andWhere('a.actor = :actor', { actor: q.actor });
    if (q.action) qb.andWhere('a.action = :action', { action: q.action });
    if (q.from) qb.andWhere('a.at >= :from', { from: q.from });
    if (q.to) qb.andWhere('a.at < :to', { to: q.to });
    if (before !== undefined) qb.andWhere('a.seq < :before', { before });
    const rows = await qb
      .orderBy('a.seq', 'DESC')
      .limit(q.limit + 1)
      .getMany();
    const page = rows.slice(0, q.limit);
    return {
      items: page.map(toItem),
      nextCursor: rows.length > q.limit ? encodeCursor(page[page.length - 1].seq) : undefined,
    };
  }

  /**
   * Walks the chain in batches up to the head record; reports the first broken seq. The head is read first and the
   * walk stops at its seq: an entry and the head it moves commit together, so every entry up to a head already read
   * is there to be read, while appends committed during the walk (on any replica) belong to the next verification.
   * Read the other way round, an append committing between the last batch and the head looked like deleted entries.
   */
  async verify(): Promise<VerifyResult> {
    const head = await this.dataSource.getRepository(LedgerHeadEntity).findOne({ where: { name: 'audit' } });
    const verifier = new ChainVerifier();
    const repo = this.dataSource.getRepository(AuditEntryEntity);
    let after = 0;
    for (;;) {
      const qb = repo.createQueryBuilder('a').where('a.seq > :after', { after });
      if (head) qb.andWhere('a.seq <= :last', { last: head.seq });
      const batch = await qb.orderBy('a.seq', 'ASC').limit(1000).getMany();
      for (const row of batch) {
        if (!verifier.push(row)) return verifier.finish(null);
      }
      if (batch.length < 1000) break;
      after = batch[batch.length - 1].seq;
    }
    return verifier.finish(head);
  }
}
