// Inspecting the platform's database for a `postgres` data connector: each declared table exists, has a primary key
// (a restore tells rows apart by it) and the tenant column, and the list is in foreign-key order (a table comes after
// every declared table it references). Every problem names its field (422 CONNECTOR.INVALID).
import { PoolClient } from 'pg';
import { ErrorDetail, unprocessable } from '../common/errors';
import { CONNECTOR_ERRORS } from './connector.errors';
import type { ConnectorTable } from './data-connector.config';
import { CapturedColumn } from './tenant-rows';

/** An identifier quoted for SQL. */
export const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** A declared table as the database describes it. */
export interface InspectedTable {
  declared: ConnectorTable;
  /** `"schema"."table"`, quoted, for SQL. */
  sql: string;
  /** `schema.table`, for people and the capture. */
  name: string;
  columns: CapturedColumn[];
  primaryKey: string[];
  tenantType: string;
}

/** The declared tables as the database describes them, in their declared order; 422 naming each problem. */
export async function inspectTables(
  client: PoolClient,
  tables: readonly ConnectorTable[],
  field: string,
): Promise<InspectedTable[]> {
  const details: ErrorDetail[] = [];
  const out: InspectedTable[] = [];
  const oids: number[] = [];
  for (const [i, t] of tables.entries()) {
    const found = await inspectTable(client, t, `${field}.tables[${i}]`, details);
    if (!found) continue;
    oids.push(found.oid);
    out.push(found.table);
  }
  if (details.length === 0) await checkForeignKeyOrder(client, oids, out, field, details);
  if (details.length > 0) {
    throw unprocessable(
      CONNECTOR_ERRORS.INVALID,
      `Invalid ${field}: ${details.map((d) => `${d.field} ${d.reason}`).join('; ')}`,
      details,
    );
  }
  return out;
}

async function inspectTable(
  client: PoolClient,
  t: ConnectorTable,
  f: string,
  details: ErrorDetail[],
): Promise<{ oid: number; table: InspectedTable } | null> {
  const rel = await client.query<{ oid: number; nspname: string; relname: string; relkind: string }>(
    `SELECT c.oid::int AS oid, n.nspname, c.relname, c.relkind FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`,
    [t.table],
  );
  const r = rel.rows[0];
  if (!r || !['r', 'p'].includes(r.relkind)) {
    details.push({ field: `${f}.table`, reason: `no table ${t.table} in the platform's database` });
    return null;
  }
  const cols = await client.query<{ name: string; type: string; generated: boolean }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attgenerated <> '' AS generated
       FROM pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [r.oid],
  );
  const pk = await client.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.ord`,
    [r.oid],
  );
  const tenantCol = cols.rows.find((c) => c.name === t.tenantColumn);
  if (!tenantCol) {
    details.push({
      field: `${f}.tenantColumn`,
      reason: `table ${r.nspname}.${r.relname} has no column ${t.tenantColumn}`,
    });
  }
  if (pk.rows.length === 0) {
    details.push({
      field: `${f}.table`,
      reason: `table ${r.nspname}.${r.relname} has no primary key; a restore tells rows apart by it`,
    });
  }
  if (!tenantCol || pk.rows.length === 0) return null;
  return {
    oid: r.oid,
    table: {
      declared: t,
      sql: `${quoteIdent(r.nspname)}.${quoteIdent(r.relname)}`,
      name: `${r.nspname}.${r.relname}`,
      // Generated columns are computed by the database; they are neither captured nor written.
      columns: cols.rows.filter((c) => !c.generated).map((c) => ({ name: c.name, type: c.type })),
      primaryKey: pk.rows.map((p) => p.name),
      tenantType: tenantCol.type,
    },
  };
}

/** Foreign-key order: a table must come after every other declared table it references. */
async function checkForeignKeyOrder(
  client: PoolClient,
  oids: number[],
  out: InspectedTable[],
  field: string,
  details: ErrorDetail[],
): Promise<void> {
  const fks = await client.query<{ child: number; parent: number; name: string }>(
    `SELECT conrelid::int AS child, confrelid::int AS parent, conname AS name FROM pg_constraint
      WHERE contype = 'f' AND conrelid = ANY($1::int[]) AND confrelid = ANY($1::int[]) AND conrelid <> confrelid`,
    [oids],
  );
  for (const fk of fks.rows) {
    const ci = oids.indexOf(fk.child);
    const pi = oids.indexOf(fk.parent);
    if (pi > ci) {
      details.push({
        field: `${field}.tables`,
        reason: `not in foreign-key order: ${out[ci].name} references ${out[pi].name} (${fk.name}), so ${out[pi].name} must come first`,
      });
    }
  }
}
