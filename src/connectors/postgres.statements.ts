// The statements a restore or a capture runs on the platform's database, one table at a time: read the tenant's rows
// as PostgreSQL text (optionally locked), insert rows, overwrite rows by primary key, remove rows by primary key.
// Every statement is limited to the tenant by its key column, and values pass through as text cast to the column's
// type, so they read back exactly.
import { PoolClient } from 'pg';
import { InspectedTable, quoteIdent } from './postgres.inspect';
import { pkIndexes } from './tenant-rows';

// Fixed text output for every value, whatever the server's or role's defaults: the capture must read back exactly.
export const SESSION =
  "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'; " +
  "SET LOCAL extra_float_digits = 1; SET LOCAL bytea_output = 'hex'";
const MAX_PARAMS = 60_000;

export async function rowsOf(
  client: PoolClient,
  t: InspectedTable,
  tenantId: string,
  lock: boolean,
): Promise<(string | null)[][]> {
  const cols = t.columns.map((c) => `${quoteIdent(c.name)}::text`).join(', ');
  const order = t.primaryKey.map(quoteIdent).join(', ');
  const res = await client.query<(string | null)[]>({
    text: `SELECT ${cols} FROM ${t.sql} WHERE ${quoteIdent(t.declared.tenantColumn)} = $1::${t.tenantType} ORDER BY ${order}${lock ? ' FOR UPDATE' : ''}`,
    values: [tenantId],
    rowMode: 'array',
  });
  return res.rows;
}

export async function insertRows(
  client: PoolClient,
  t: InspectedTable,
  rows: (string | null)[][],
): Promise<void> {
  if (rows.length === 0) return;
  const n = t.columns.length;
  const per = Math.max(1, Math.min(1000, Math.floor(MAX_PARAMS / n)));
  const cols = t.columns.map((c) => quoteIdent(c.name)).join(', ');
  for (let s = 0; s < rows.length; s += per) {
    const chunk = rows.slice(s, s + per);
    const values: (string | null)[] = [];
    const tuples = chunk.map((r) => {
      const ph = t.columns.map((c, j) => {
        values.push(r[j]);
        return `$${values.length}::${c.type}`;
      });
      return `(${ph.join(', ')})`;
    });
    // OVERRIDING SYSTEM VALUE: identity columns GENERATED ALWAYS get their captured values back.
    await client.query(
      `INSERT INTO ${t.sql} (${cols}) OVERRIDING SYSTEM VALUE VALUES ${tuples.join(', ')}`,
      values,
    );
  }
}

export async function overwriteRows(
  client: PoolClient,
  t: InspectedTable,
  tenantId: string,
  rows: (string | null)[][],
): Promise<void> {
  const pk = pkIndexes(t);
  for (const r of rows) {
    const values: (string | null)[] = [];
    const set = t.columns
      .map((c, j) => {
        if (pk.includes(j)) return null;
        values.push(r[j]);
        return `${quoteIdent(c.name)} = $${values.length}::${c.type}`;
      })
      .filter((x): x is string => x !== null);
    const where = pk.map((j) => {
      values.push(r[j]);
      return `${quoteIdent(t.columns[j].name)} = $${values.length}::${t.columns[j].type}`;
    });
    values.push(tenantId);
    if (set.length === 0) continue;
    const res = await client.query(
      `UPDATE ${t.sql} SET ${set.join(', ')} WHERE ${where.join(' AND ')} AND ${quoteIdent(t.declared.tenantColumn)} = $${values.length}::${t.tenantType}`,
      values,
    );
    if (res.rowCount !== 1) throw new Error(`a row of ${t.name} changed tenant during the restore`);
  }
}

export async function removeRows(
  client: PoolClient,
  t: InspectedTable,
  tenantId: string,
  keys: (string | null)[][],
): Promise<void> {
  if (keys.length === 0) return;
  const pk = pkIndexes(t).map((j) => t.columns[j]);
  const per = Math.max(1, Math.min(1000, Math.floor(MAX_PARAMS / pk.length)));
  for (let s = 0; s < keys.length; s += per) {
    const values: (string | null)[] = [tenantId];
    const tuples = keys.slice(s, s + per).map((k) => {
      const ph = pk.map((c, j) => {
        values.push(k[j]);
        return `$${values.length}::${c.type}`;
      });
      return `(${ph.join(', ')})`;
    });
    await client.query(
      `DELETE FROM ${t.sql} WHERE ${quoteIdent(t.declared.tenantColumn)} = $1::${t.tenantType} AND (${pk
        .map((c) => quoteIdent(c.name))
        .join(', ')}) IN (${tuples.join(', ')})`,
      values,
    );
  }
}
