// A tenant's rows as a point-in-time restore sees them: per table, rows keyed by database column name, as the
// archive's reader returns them (`rowsAt`) and as the live database holds them. Pure: value normalisation (so that a
// timestamp read as SQLite text, as PostgreSQL text or as a JSON string compares equal when it is the same instant),
// the per-table comparison a plan shows (restored / overwritten / removed) and the hash that binds an approval to
// the exact rows. See docs/decisions/ (point-in-time restore).
import { canonicalJson, sha256Hex } from '../../common/canonical-json';

export type Row = Record<string, unknown>;
/** Table name -> the tenant's rows in it. */
export type TenantTables = Record<string, Row[]>;

/** How a column's values are compared and bound; read from the live table's definition, not from an entity. */
export type ColumnKind = 'timestamp' | 'boolean' | 'number' | 'text';

export interface TableShape {
  table: string;
  /** The column holding the tenant's id (`id` in `tenants`). */
  tenantColumn: string;
  primaryKey: string[];
  columns: Record<string, { kind: ColumnKind; nullable: boolean; hasDefault: boolean }>;
}

/** The tables a restore writes, parents first (foreign-key order): the tenant's data, nothing else. */
export const RESTORED_TABLES: readonly { table: string; tenantColumn: string }[] = [
  { table: 'tenants', tenantColumn: 'id' },
  { table: 'installations', tenantColumn: 'tenant_id' },
];

export function columnKind(dbType: string): ColumnKind {
  const t = dbType.toLowerCase();
  if (t.includes('timestamp') || t.includes('datetime')) return 'timestamp';
  if (t.startsWith('bool')) return 'boolean';
  if (/^(int|integer|bigint|smallint|numeric|decimal|real|double|float)/.test(t)) return 'number';
  return 'text';
}

const TS_RE = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?\s*(Z|[+-]\d\d(?::?\d\d)?)?$/i;

/**
 * One instant as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (microseconds: PostgreSQL's precision). Accepts a Date, SQLite's
 * stored text (`2026-12-05 08:00:00.123`, UTC), PostgreSQL's text (`... +00`, `+01:00`) and ISO strings.
 */
export function canonicalTimestamp(v: unknown): string {
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new Error('invalid date');
    return v.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  }
  if (typeof v !== 'string') throw new Error(`not a timestamp: ${JSON.stringify(v)}`);
  const m = TS_RE.exec(v.trim());
  if (!m) throw new Error(`not a timestamp: ${JSON.stringify(v)}`);
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m;
  let offsetMin = 0;
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
  }
  const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s) - offsetMin * 60_000;
  const micros = (frac + '000000').slice(0, 6);
  return `${new Date(ms).toISOString().slice(0, 19)}.${micros}Z`;
}

/** A value in the one form two reads of the same stored value agree on. */
export function normalizeValue(kind: ColumnKind, v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  switch (kind) {
    case 'timestamp':
      return canonicalTimestamp(v);
    case 'boolean':
      return v === true || v === 1 || v === '1' || v === 't' || v === 'true';
    case 'number':
      return typeof v === 'number' ? v : Number(v);
    case 'text':
      return typeof v === 'string' ? v : JSON.stringify(v);
  }
}

const keyOf = (shape: TableShape, r: Row): string =>
  JSON.stringify(shape.primaryKey.map((c) => normalizeValue(shape.columns[c]?.kind ?? 'text', r[c])));

/** The row with every column normalised; columns the table does not have are kept as text (and refused later). */
export function normalizeRow(shape: TableShape, r: Row): Row {
  const out: Row = {};
  for (const [c, v] of Object.entries(r)) out[c] = normalizeValue(shape.columns[c]?.kind ?? 'text', v);
  return out;
}

export interface TableDiff {
  table: string;
  /** Rows of the moment absent now: written. */
  restore: Row[];
  /** Rows present now with other values: overwritten with the moment's. */
  overwrite: Row[];
  /** Rows present now that did not exist at the moment: removed (the live row). */
  remove: Row[];
  unchanged: number;
}

/** Compares the tenant's rows at the moment (`then`) with its rows now, column by column on `then`'s columns. */
export function diffTable(shape: TableShape, then: readonly Row[], now: readonly Row[]): TableDiff {
  const current = new Map<string, Row>();
  for (const r of now) current.set(keyOf(shape, r), r);
  const d: TableDiff = { table: shape.table, restore: [], overwrite: [], remove: [], unchanged: 0 };
  const kept = new Set<string>();
  for (const r of then) {
    const k = keyOf(shape, r);
    kept.add(k);
    const cur = current.get(k);
    if (!cur) d.restore.push(r);
    else if (sameRow(shape, r, cur)) d.unchanged++;
    else d.overwrite.push(r);
  }
  for (const [k, r] of current) if (!kept.has(k)) d.remove.push(r);
  return d;
}

function sameRow(shape: TableShape, then: Row, now: Row): boolean {
  for (const [c, v] of Object.entries(then)) {
    const kind = shape.columns[c]?.kind ?? 'text';
    if (normalizeValue(kind, v) !== normalizeValue(kind, now[c])) return false;
  }
  return true;
}

// A type, not an interface: it goes into the plan's detail as JSON.
export type RowCounts = {
  restored: number;
  overwritten: number;
  removed: number;
  unchanged: number;
};

export const countsOf = (d: TableDiff): RowCounts => ({
  restored: d.restore.length,
  overwritten: d.overwrite.length,
  removed: d.remove.length,
  unchanged: d.unchanged,
});

export function sumCounts(list: readonly RowCounts[]): RowCounts {
  return list.reduce(
    (a, c) => ({
      restored: a.restored + c.restored,
      overwritten: a.overwritten + c.overwritten,
      removed: a.removed + c.removed,
      unchanged: a.unchanged + c.unchanged,
    }),
    { restored: 0, overwritten: 0, removed: 0, unchanged: 0 },
  );
}

/**
 * SHA-256 of the tenant's rows at the moment, normalised and ordered by primary key: the plan carries it, and the
 * restore refuses to write rows that no longer hash the same (the archive changed between approval and execution).
 */
export function rowsHash(shapes: readonly TableShape[], tables: TenantTables): string {
  const out: Record<string, Row[]> = {};
  for (const s of shapes) {
    const rows = (tables[s.table] ?? []).map((r) => normalizeRow(s, r));
    rows.sort((a, b) => {
      const ka = keyOf(s, a);
      const kb = keyOf(s, b);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    out[s.table] = rows;
  }
  return sha256Hex(canonicalJson(out));
}

/**
 * What makes the moment's rows unwritable into the live table, or null: a column the table no longer has, a
 * required column the moment's rows lack, a row that belongs to another tenant.
 */
export function unwritable(shape: TableShape, tenantId: string, rows: readonly Row[]): string | null {
  for (const r of rows) {
    for (const c of Object.keys(r)) {
      if (!shape.columns[c])
        return `${shape.table}.${c} existed at the moment but the live table has no such column`;
    }
    for (const [c, col] of Object.entries(shape.columns)) {
      if (!(c in r) && !col.nullable && !col.hasDefault) {
        return `${shape.table}.${c} is required now but the moment's rows have no value for it`;
      }
    }
    if (String(r[shape.tenantColumn]) !== tenantId) {
      return `a ${shape.table} row of the moment belongs to ${String(r[shape.tenantColumn])}, not ${tenantId}`;
    }
  }
  return null;
}
