import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { decodeCursor, encodeCursor, isNumber } from '../common/cursor';
import { EventEntity } from './event.entity';

export interface FeedEvent {
  seq: number;
  id: string;
  type: string;
  entityType: string;
  entityId: string;
  actor: string;
  occurredAt: Date;
  data: Record<string, unknown>;
}

export const toFeedEvent = (e: EventEntity): FeedEvent => ({
  seq: e.seq,
  id: e.id,
  type: e.type,
  entityType: e.entityType,
  entityId: e.entityId,
  actor: e.actor,
  occurredAt: e.occurredAt,
  data: e.data,
});

@Injectable()
export class EventsService {
  constructor(private readonly dataSource: DataSource) {}

  /** Events with seq > after, oldest first. */
  async after(after: number, limit: number, types?: string[]): Promise<FeedEvent[]> {
    const qb = this.dataSource
      .getRepository(EventEntity)
      .createQueryBuilder('e')
      .where('e.seq > :after', { after })
      .orderBy('e.seq', 'ASC')
      .limit(limit);
    if (types && types.length > 0) qb.andWhere('e.type IN (:...types)', { types });
    return (await qb.getMany()).map(toFeedEvent);
  }

  /** The change feed: `after` is an opaque cursor from a previous page (or absent to start at the beginning). */
  async feed(cursor: string | undefined, limit: number): Promise<{ items: FeedEvent[]; nextCursor: string }> {
    const after = decodeCursor(cursor, isNumber) ?? 0;
    const items = await this.after(after, limit);
    // The cursor always advances to the last seen event, so a poller resumes exactly where it stopped.
    return { items, nextCursor: encodeCursor(items.length > 0 ? items[items.length - 1].seq : after) };
  }

  async headSeq(): Promise<number> {
    const r = await this.dataSource
      .getRepository(EventEntity)
      .createQueryBuilder('e')
      .select('MAX(e.seq)', 'max')
      .getRawOne<{ max: number | null }>();
    return Number(r?.max ?? 0);
  }
}
