// Every row of a platform's tenant tables, as PostgreSQL prints it (`t::text`: every column, exact values), grouped by
// tenant and sorted: what the purge-and-restore acceptance tests compare before and after, row by row.
import { Client } from 'pg';

export async function rowsByTenant(
  db: Client,
  schema: string,
  tables: readonly { table: string; tenantColumn: string }[],
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const { table, tenantColumn } of tables) {
    const rows = await db.query<{ tenant: string; row: string }>(
      `SELECT ${tenantColumn} AS tenant, '${table}:' || t::text AS row FROM ${schema}.${table} t`,
    );
    for (const r of rows.rows) out.set(r.tenant, [...(out.get(r.tenant) ?? []), r.row]);
  }
  for (const v of out.values()) v.sort();
  return out;
}
