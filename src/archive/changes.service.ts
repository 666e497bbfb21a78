import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { badRequest } from '../common/errors';
import { TransactionRunner } from '../common/transaction';
import { CHANGE_COLUMNS, RowChange, RowChangeRecord, toRowChange } from './capture.store';

export interface ChangePage {
  items: RowChange[];
  /** Pass as `after` to read on; absent when the page is not full (nothing more committed for now). */
  nextCursor?: string;
}

/**
 * The change feed: captured changes in position order, from a position on. On PostgreSQL positions come from a
 * sequence at insert time, not at commit, so a page stops below the lowest position any in-progress capturing
 * transaction may still commit (its floor lock, see capture.sql.ts): a reader following `after` never skips a row
 * whose transaction commits late.
 */
@Injectable()
export class ChangesService {
  constructor(private readonly tx: TransactionRunner) {}

  async page(afterRaw: string | undefined, limit: number): Promise<ChangePage> {
    const after = parseAfter(afterRaw);
    return this.tx.read(async (m) => {
      const bound = await safeBound(m);
      const pg = this.tx.isPostgres;
      const rows = (await m.query(
        `SELECT ${CHANGE_COLUMNS} FROM row_changes WHERE position > ${pg ? '$1' : '?'} AND position <= ${pg ? '$2' : '?'} ` +
          `ORDER BY position LIMIT ${pg ? '$3' : '?'}`,
        [after, bound, limit],
      )) as RowChangeRecord[];
      const items = rows.map(toRowChange);
      return {
        items,
        nextCursor: items.length === limit ? String(items[items.length - 1].position) : undefined,
      };
    });
  }
}

/**
 * The highest position below which every change is final: committed (visible) or rolled back (never visible).
 * SQLite serialises writers and a reader sees only committed rows: everything is final. PostgreSQL: the sequence's
 * value read first, lowered below the floor of every capturing transaction still in progress.
 */
export async function safeBound(m: EntityManager): Promise<number> {
  if (m.connection.options.type !== 'postgres') return Number.MAX_SAFE_INTEGER;
  // Before its first nextval a sequence shows last_value 1 with is_called false: position 1 is not handed out yet.
  const seq = (await m.query(
    'SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS last_value FROM row_changes_position_seq',
  )) as Array<{
    last_value: string | number;
  }>;
  const last = Number(seq[0].last_value);
  // Keys of pg_advisory_xact_lock_shared(bigint) show as classid (high 32 bits) and objid (low); ours are -1 - floor.
  const locks = (await m.query(
    `SELECT max(((classid::bigint << 32) | objid::bigint)) AS k FROM pg_locks
     WHERE locktype = 'advisory' AND objsubid = 1 AND classid::bigint >= 2147483648
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  )) as Array<{ k: string | number | null }>;
  const k = locks[0]?.k;
  if (k === null || k === undefined) return last;
  const floor = -1 - Number(k);
  return Math.min(last, floor - 1);
}

function parseAfter(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 0;
  if (!/^\d{1,15}$/.test(raw))
    throw badRequest('VALIDATION.BAD_POSITION', 'after: expected a position (a non-negative integer)', [
      { field: 'after', reason: 'expected a position (a non-negative integer)' },
    ]);
  return Number(raw);
}
