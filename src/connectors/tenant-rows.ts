// A tenant's rows as the `postgres` data connector captures them, and the pure comparison of a capture with the
// rows the tenant has now (what a restore writes, overwrites and removes). Values are PostgreSQL's own text output
// of each column (`col::text` under fixed DateStyle/TimeZone/extra_float_digits), written back with a cast to the
// column's type: every type PostgreSQL can print it can read back exactly (timestamps to the microsecond, numerics,
// json/jsonb, bytea as hex, arrays, ranges), with no JavaScript number or Date in between.

export interface CapturedColumn {
  name: string;
  /** `format_type()` of the column, e.g. `numeric(12,2)`, `timestamp with time zone`, `text[]`. */
  type: string;
}

export interface CapturedTable {
  /** Schema-qualified, as resolved when captured: `platform.rows`. */
  table: string;
  tenantColumn: string;
  columns: CapturedColumn[];
  /** Names of the primary-key columns (a subset of `columns`), in key order. */
  primaryKey: string[];
  /** One array per row, values in `columns` order; null is SQL NULL. Ordered by primary key. */
  rows: (string | null)[][];
}

export interface TenantCapture {
  format: 1;
  connector: string;
  tenantId: string;
  /** The platform database's clock at the consistent read (`now()` of the snapshot transaction). */
  capturedAt: string;
  /** In the connector's foreign-key order. */
  tables: CapturedTable[];
}

export interface TableDiff {
  table: string;
  /** Captured rows absent now: inserted. */
  write: (string | null)[][];
  /** Captured rows present now with other values: overwritten. */
  overwrite: (string | null)[][];
  /** Rows of the tenant now that are not in the capture: removed (primary-key values). */
  remove: (string | null)[][];
  unchanged: number;
}

export interface RowCounts {
  write: number;
  overwrite: number;
  remove: number;
  unchanged: number;
}

export const pkIndexes = (t: Pick<CapturedTable, 'columns' | 'primaryKey'>): number[] =>
  t.primaryKey.map((k) => t.columns.findIndex((c) => c.name === k));

const keyOf = (row: (string | null)[], idx: number[]): string => JSON.stringify(idx.map((i) => row[i]));

/** Compares the captured rows of one table with the tenant's rows now (same columns, same order). */
export function diffTable(captured: CapturedTable, now: (string | null)[][]): TableDiff {
  const idx = pkIndexes(captured);
  const current = new Map<string, (string | null)[]>();
  for (const r of now) current.set(keyOf(r, idx), r);
  const d: TableDiff = { table: captured.table, write: [], overwrite: [], remove: [], unchanged: 0 };
  const kept = new Set<string>();
  for (const r of captured.rows) {
    const k = keyOf(r, idx);
    kept.add(k);
    const cur = current.get(k);
    if (!cur) d.write.push(r);
    else if (cur.length === r.length && cur.every((v, i) => v === r[i])) d.unchanged++;
    else d.overwrite.push(r);
  }
  for (const [k, r] of current) if (!kept.has(k)) d.remove.push(idx.map((i) => r[i]));
  return d;
}

export function countRows(diffs: readonly TableDiff[]): RowCounts {
  return diffs.reduce(
    (c, d) => ({
      write: c.write + d.write.length,
      overwrite: c.overwrite + d.overwrite.length,
      remove: c.remove + d.remove.length,
      unchanged: c.unchanged + d.unchanged,
    }),
    { write: 0, overwrite: 0, remove: 0, unchanged: 0 },
  );
}

export const rowCount = (c: TenantCapture): number => c.tables.reduce((n, t) => n + t.rows.length, 0);
