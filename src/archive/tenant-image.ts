// Pure rebuilding of tenant images: a base (rows per table) plus changes replayed in position order.
import { CAPTURED_TABLES, capturedTable } from './capture.tables';
import { RowChange } from './capture.store';

/** One tenant's rows in every captured table, keyed by DB column name, values as the database stores them. */
export interface TenantImage {
  tables: Record<string, Record<string, unknown>[]>;
}

export type MutableImage = Map<string, Map<string, Record<string, unknown>>>;

export function emptyImage(): MutableImage {
  return new Map(CAPTURED_TABLES.map((t) => [t.name, new Map()]));
}

export function imageFrom(tables: TenantImage['tables']): MutableImage {
  const img = emptyImage();
  for (const [name, rows] of Object.entries(tables)) {
    const spec = capturedTable(name);
    if (!spec) continue;
    const byKey = img.get(name) as Map<string, Record<string, unknown>>;
    for (const r of rows) byKey.set(rowKey(spec.primaryKey, r), r);
  }
  return img;
}

const rowKey = (pk: string[], row: Record<string, unknown>) => JSON.stringify(pk.map((c) => row[c] ?? null));

/** Applies one change; an update whose key changed removes the old key first. */
export function applyChange(img: MutableImage, c: RowChange): void {
  const spec = capturedTable(c.table);
  if (!spec) return;
  const rows = img.get(c.table) as Map<string, Record<string, unknown>>;
  if (c.before) rows.delete(rowKey(spec.primaryKey, c.before));
  if (c.after) rows.set(rowKey(spec.primaryKey, c.after), c.after);
}

/** The image as plain data, each table's rows sorted by primary key (stable for comparisons). */
export function freezeImage(img: MutableImage): TenantImage {
  const tables: TenantImage['tables'] = {};
  for (const [name, rows] of img) {
    tables[name] = [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
  }
  return { tables };
}

/**
 * Which changes belong to the state at `atMs`: a transaction counts whole, at the time of its last change (the
 * nearest the database lets a trigger see its commit); a change with no transaction id counts alone.
 */
export function changesUpTo(changes: RowChange[], atMs: number): RowChange[] {
  const txEnd = new Map<number, number>();
  for (const c of changes) {
    if (c.txId === null) continue;
    const t = Date.parse(c.changedAt);
    txEnd.set(c.txId, Math.max(txEnd.get(c.txId) ?? 0, t));
  }
  return changes.filter(
    (c) => (c.txId === null ? Date.parse(c.changedAt) : (txEnd.get(c.txId) as number)) <= atMs,
  );
}
