// The SQL the archive runs to read a base, on SQLite and PostgreSQL alike: the database's clock and every captured
// table's rows as JSON images grouped by tenant, through the one thing the archive needs from a connection (Query).
import { EntityManager } from 'typeorm';
import { isoTime } from './capture.store';
import { CAPTURED_TABLES } from './capture.tables';
import { TenantImage } from './tenant-image';

/** The one thing the archive's reads need from a connection. */
export interface Query {
  all(sql: string, params: unknown[]): Promise<unknown[]>;
}

export const emQuery = (em: EntityManager): Query => ({
  all: (sql, params) => em.query(sql, params) as Promise<unknown[]>,
});

export async function dbNow(q: Query, pg: boolean): Promise<string> {
  if (pg) {
    const r = (await q.all('SELECT clock_timestamp() AS t', [])) as Array<{ t: Date }>;
    return r[0].t.toISOString();
  }
  const r = (await q.all(`SELECT strftime('%Y-%m-%d %H:%M:%f', 'now') AS t`, [])) as Array<{ t: string }>;
  return isoTime(r[0].t);
}

/** A SELECT of the table's rows as JSON images, the same shape the capture triggers record. */
export async function imageSelect(q: Query, pg: boolean, table: string, excluded: string[]): Promise<string> {
  if (pg) {
    const ex = excluded.length ? ` - ARRAY[${excluded.map((c) => `'${c}'`).join(', ')}]::text[]` : '';
    return `SELECT (to_jsonb(t)${ex})::text AS j FROM "${table}" t`;
  }
  const cols = ((await q.all(`PRAGMA table_info("${table}")`, [])) as Array<{ name: string }>)
    .map((c) => c.name)
    .filter((c) => !excluded.includes(c));
  return `SELECT json_object(${cols.map((c) => `'${c}', "${c}"`).join(', ')}) AS j FROM "${table}"`;
}

/** Every captured table's rows, grouped by tenant (each tenant has every table, empty where it has no rows). */
export async function tenantTables(q: Query, pg: boolean): Promise<Map<string, TenantImage['tables']>> {
  const byTenant = new Map<string, TenantImage['tables']>();
  for (const t of CAPTURED_TABLES) {
    const rows = (await q.all(await imageSelect(q, pg, t.name, t.excluded), [])) as Array<{
      j: string | object;
    }>;
    for (const r of rows) {
      const row = (typeof r.j === 'string' ? JSON.parse(r.j) : r.j) as Record<string, unknown>;
      const id = String(row[t.tenantColumn]);
      let img = byTenant.get(id);
      if (!img) {
        img = Object.fromEntries(CAPTURED_TABLES.map((x) => [x.name, [] as Record<string, unknown>[]]));
        byTenant.set(id, img);
      }
      img[t.name].push(row);
    }
  }
  return byTenant;
}
