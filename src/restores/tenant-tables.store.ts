// Reads and writes one tenant's rows in the live database by raw column name, so a restore covers every column the
// table has (not only the ones an entity maps). Every statement is filtered by the tenant's column: a restore can
// touch no other tenant's rows. Runs on the caller's transaction (the engine's target transaction).
import { DataSource, EntityManager } from 'typeorm';
import { conflict, unprocessable } from '../common/errors';
import { executeWrite } from '../common/raw-statement';
import {
  columnKind,
  countsOf,
  diffTable,
  normalizeValue,
  RESTORED_TABLES,
  Row,
  RowCounts,
  TableDiff,
  TableShape,
  TenantTables,
  unwritable,
} from './domain/tenant-tables';

export const RESTORE_ERRORS = {
  UNWRITABLE: 'RESTORE.UNWRITABLE',
  MISSING_REFERENCE: 'RESTORE.MISSING_REFERENCE',
  ROW_OF_ANOTHER_TENANT: 'RESTORE.ROW_OF_ANOTHER_TENANT',
} as const;

const q = (name: string): string =>
  name
    .split('.')
    .map((p) => `"${p.replace(/"/g, '""')}"`)
    .join('.');

interface ForeignKey {
  columns: string[];
  table: string;
  referenced: string[];
}

interface LiveTable extends TableShape {
  foreignKeys: ForeignKey[];
}

const shapeCache = new WeakMap<DataSource, Map<string, LiveTable>>();

/** The restored tables as the database defines them now (columns, types, keys); read once per process. */
export async function tableShapes(m: EntityManager): Promise<LiveTable[]> {
  let cache = shapeCache.get(m.connection);
  if (!cache) shapeCache.set(m.connection, (cache = new Map()));
  const out: LiveTable[] = [];
  for (const { table, tenantColumn } of RESTORED_TABLES) {
    let shape = cache.get(table);
    if (!shape) {
      const qr = m.queryRunner ?? m.connection.createQueryRunner();
      try {
        const t = await qr.getTable(table);
        if (!t) throw new Error(`table ${table} does not exist`);
        const columns: TableShape['columns'] = {};
        for (const c of t.columns) {
          columns[c.name] = {
            kind: columnKind(c.type),
            nullable: c.isNullable,
            hasDefault: c.default !== undefined && c.default !== null,
          };
        }
        shape = {
          table,
          tenantColumn,
          primaryKey: t.primaryColumns.map((c) => c.name),
          columns,
          foreignKeys: t.foreignKeys.map((fk) => ({
            columns: fk.columnNames,
            // PostgreSQL may qualify it with the schema; the restored tables are compared by bare name.
            table: fk.referencedTableName.split('.').pop() as string,
            referenced: fk.referencedColumnNames,
          })),
        };
      } finally {
        if (!m.queryRunner) await qr.release();
      }
      cache.set(table, shape);
    }
    out.push(shape);
  }
  return out;
}

const isPg = (m: EntityManager) => m.connection.options.type === 'postgres';

/** A column in the select list: PostgreSQL timestamps as exact UTC text (a JS Date would drop microseconds). */
function selectColumn(m: EntityManager, name: string, shape: TableShape): string {
  if (isPg(m) && shape.columns[name].kind === 'timestamp') {
    return `to_char(${q(name)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ${q(name)}`;
  }
  return q(name);
}

function placeholders(m: EntityManager, sql: string): string {
  if (!isPg(m)) return sql;
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** The tenant's rows now, per restored table, every column by its database name. */
export async function liveTables(m: EntityManager, tenantId: string): Promise<TenantTables> {
  const out: TenantTables = {};
  for (const shape of await tableShapes(m)) {
    const cols = Object.keys(shape.columns).map((c) => selectColumn(m, c, shape));
    const rows = (await m.query(
      placeholders(m, `SELECT ${cols.join(', ')} FROM ${q(shape.table)} WHERE ${q(shape.tenantColumn)} = ?`),
      [tenantId],
    )) as Row[];
    out[shape.table] = rows;
  }
  return out;
}

/** The tenant's status now, or `absent` when its row is gone (the outage's script deletes rows outright). */
export async function liveState(m: EntityManager, tenantId: string): Promise<string> {
  const rows = (await m.query(placeholders(m, 'SELECT status FROM tenants WHERE id = ?'), [tenantId])) as {
    status: string;
  }[];
  return rows[0]?.status ?? 'absent';
}

/** A value as the live database takes it back exactly. */
function bind(m: EntityManager, shape: TableShape, column: string, v: unknown): unknown {
  const kind = shape.columns[column].kind;
  if (v === null || v === undefined) return null;
  if (kind === 'timestamp') {
    // SQLite keeps the archived text byte for byte when it is already in its stored form.
    if (!isPg(m) && typeof v === 'string' && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/.test(v)) return v;
    const iso = normalizeValue('timestamp', v) as string;
    return isPg(m) ? iso : `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
  }
  if (kind === 'boolean') {
    const b = normalizeValue('boolean', v) as boolean;
    return isPg(m) ? b : b ? 1 : 0;
  }
  return normalizeValue(kind, v);
}

/**
 * Makes the tenant's rows in the restored tables equal `target`: removes rows absent from it (children first),
 * overwrites the ones that differ and writes the missing ones (parents first). Refuses, before writing anything, a
 * row of another tenant, a column the table no longer has, a key held by another tenant's row, and a reference to a
 * row outside the tenant that no longer exists (e.g. an app gone from the catalogue).
 */
export async function writeTables(
  m: EntityManager,
  tenantId: string,
  target: TenantTables,
): Promise<Record<string, RowCounts>> {
  const shapes = await tableShapes(m);
  const now = await liveTables(m, tenantId);
  const diffs = new Map<string, TableDiff>();
  const restored = new Set(shapes.map((s) => s.table));
  for (const shape of shapes) {
    const rows = target[shape.table] ?? [];
    const why = unwritable(shape, tenantId, rows);
    if (why)
      throw unprocessable(RESTORE_ERRORS.UNWRITABLE, `tenant ${tenantId}: ${why}; nothing was written`);
    diffs.set(shape.table, diffTable(shape, rows, now[shape.table] ?? []));
  }
  for (const shape of shapes) {
    const d = diffs.get(shape.table) as TableDiff;
    await checkInserts(m, tenantId, shape, d.restore, restored, target);
  }
  for (const shape of [...shapes].reverse()) {
    for (const r of (diffs.get(shape.table) as TableDiff).remove) {
      const where = [shape.tenantColumn, ...shape.primaryKey];
      await executeWrite(
        m,
        `DELETE FROM ${q(shape.table)} WHERE ${where.map((c) => `${q(c)} = ?`).join(' AND ')}`,
        [tenantId, ...shape.primaryKey.map((c) => bind(m, shape, c, r[c]))],
      );
    }
  }
  for (const shape of shapes) {
    const d = diffs.get(shape.table) as TableDiff;
    for (const r of d.overwrite) {
      const set = Object.keys(r).filter((c) => !shape.primaryKey.includes(c));
      const where = [shape.tenantColumn, ...shape.primaryKey];
      const n = await executeWrite(
        m,
        `UPDATE ${q(shape.table)} SET ${set.map((c) => `${q(c)} = ?`).join(', ')} WHERE ${where
          .map((c) => `${q(c)} = ?`)
          .join(' AND ')}`,
        [
          ...set.map((c) => bind(m, shape, c, r[c])),
          tenantId,
          ...shape.primaryKey.map((c) => bind(m, shape, c, r[c])),
        ],
      );
      if (n !== 1)
        throw new Error(`restore of ${tenantId}: ${shape.table} row vanished while it was written`);
    }
    for (const r of d.restore) {
      const cols = Object.keys(r);
      await executeWrite(
        m,
        `INSERT INTO ${q(shape.table)} (${cols.map(q).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
        cols.map((c) => bind(m, shape, c, r[c])),
      );
    }
  }
  const counts: Record<string, RowCounts> = {};
  for (const [t, d] of diffs) counts[t] = countsOf(d);
  return counts;
}

/**
 * Before an insert: the key must not be held by another tenant's row, and every reference outside the restored
 * tables must still exist. Either would otherwise fail as a database error, which the engine retries forever.
 */
async function checkInserts(
  m: EntityManager,
  tenantId: string,
  shape: LiveTable,
  rows: readonly Row[],
  restored: Set<string>,
  target: TenantTables,
): Promise<void> {
  if (rows.length === 0) return;
  if (!shape.primaryKey.includes(shape.tenantColumn)) {
    for (const r of rows) {
      const found = (await m.query(
        placeholders(
          m,
          `SELECT ${q(shape.tenantColumn)} AS owner FROM ${q(shape.table)} WHERE ${shape.primaryKey
            .map((c) => `${q(c)} = ?`)
            .join(' AND ')}`,
        ),
        shape.primaryKey.map((c) => bind(m, shape, c, r[c])),
      )) as { owner: string }[];
      if (found.length > 0 && found[0].owner !== tenantId) {
        throw conflict(
          RESTORE_ERRORS.ROW_OF_ANOTHER_TENANT,
          `tenant ${tenantId}: the key of a ${shape.table} row to restore is now used by tenant ${found[0].owner}`,
        );
      }
    }
  }
  for (const fk of shape.foreignKeys) {
    if (restored.has(fk.table)) {
      // A reference to another restored table: it must be among the tenant's own rows being restored.
      const parent = target[fk.table] ?? [];
      for (const r of rows) {
        const ok = parent.some((p) =>
          fk.referenced.every((c, i) => String(p[c]) === String(r[fk.columns[i]])),
        );
        if (!ok) {
          throw unprocessable(
            RESTORE_ERRORS.MISSING_REFERENCE,
            `tenant ${tenantId}: a ${shape.table} row refers to a ${fk.table} row that is not part of the restore`,
          );
        }
      }
      continue;
    }
    const wanted = new Map<string, unknown[]>();
    for (const r of rows) {
      const vals = fk.columns.map((c) => r[c]);
      if (vals.some((v) => v === null || v === undefined)) continue;
      wanted.set(JSON.stringify(vals), vals);
    }
    for (const vals of wanted.values()) {
      const found = (await m.query(
        placeholders(
          m,
          `SELECT 1 AS one FROM ${q(fk.table)} WHERE ${fk.referenced.map((c) => `${q(c)} = ?`).join(' AND ')}`,
        ),
        vals,
      )) as unknown[];
      if (found.length === 0) {
        throw unprocessable(
          RESTORE_ERRORS.MISSING_REFERENCE,
          `tenant ${tenantId}: ${shape.table} refers to ${fk.table} ${fk.referenced
            .map((c, i) => `${c}=${String(vals[i])}`)
            .join(', ')}, which no longer exists`,
        );
      }
    }
  }
}
