import { EntityManager } from 'typeorm';
import { ChangeOp } from './capture.tables';

/** A captured change as the feed and the archive carry it. */
export interface RowChange {
  position: number;
  /** PostgreSQL: the transaction's xid. SQLite: Wavegate's transaction counter, null for a change made outside. */
  txId: number | null;
  /** When the row changed (database clock), ISO-8601. */
  changedAt: string;
  table: string;
  tenantId: string;
  op: ChangeOp;
  /** The row before (update, delete), DB column names; null for an insert. */
  before: Record<string, unknown> | null;
  /** The row after (insert, update); null for a delete. */
  after: Record<string, unknown> | null;
}

export interface RowChangeRecord {
  position: number | string;
  tx_id: number | string | null;
  changed_at: string | Date;
  table_name: string;
  tenant_id: string;
  op: string;
  before_image: string | null;
  after_image: string | null;
}

export const CHANGE_COLUMNS =
  'position, tx_id, changed_at, table_name, tenant_id, op, before_image, after_image';

/** SQLite stores `YYYY-MM-DD HH:MM:SS.SSS` (UTC); PostgreSQL returns a Date. */
export function isoTime(v: string | Date): string {
  if (v instanceof Date) return v.toISOString();
  return new Date(v.includes('T') ? v : `${v.replace(' ', 'T')}Z`).toISOString();
}

export function toRowChange(r: RowChangeRecord): RowChange {
  return {
    position: Number(r.position),
    txId: r.tx_id === null ? null : Number(r.tx_id),
    changedAt: isoTime(r.changed_at),
    table: r.table_name,
    tenantId: r.tenant_id,
    op: r.op as ChangeOp,
    before: r.before_image === null ? null : (JSON.parse(r.before_image) as Record<string, unknown>),
    after: r.after_image === null ? null : (JSON.parse(r.after_image) as Record<string, unknown>),
  };
}

const isPg = (m: EntityManager) => m.connection.options.type === 'postgres';
const ph = (m: EntityManager, i: number) => (isPg(m) ? `$${i}` : '?');

/**
 * Erasure at purge: the tenant's captured images are deleted in the purge's own transaction (including those of
 * the purge's writes, which were captured a moment earlier), and one `P` change with no images records that they
 * were erased, so a reader knows why the tenant's history ends. Archived copies are sealed under the tenant's data
 * key, which the same purge destroys.
 */
export async function eraseCapturedImages(m: EntityManager, tenantId: string, now: Date): Promise<void> {
  await m.query(`DELETE FROM row_changes WHERE tenant_id = ${ph(m, 1)}`, [tenantId]);
  // The position below is allocated here, not by a trigger: take the same floor lock the triggers take.
  if (isPg(m))
    await m.query(
      'SELECT pg_advisory_xact_lock_shared(-1 - (SELECT last_value FROM row_changes_position_seq))',
    );
  const tx = isPg(m)
    ? 'pg_current_xact_id()::text::bigint'
    : '(SELECT CASE WHEN open = 1 THEN tx END FROM capture_tx WHERE id = 1)';
  const at = isPg(m) ? now : now.toISOString().replace('T', ' ').replace('Z', '');
  await m.query(
    `INSERT INTO row_changes (tx_id, changed_at, table_name, tenant_id, op, before_image, after_image) ` +
      `VALUES (${tx}, ${ph(m, 1)}, 'tenants', ${ph(m, 2)}, 'P', NULL, NULL)`,
    [at, tenantId],
  );
}
