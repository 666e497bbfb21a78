// The declared shape of a `postgres` data connector, checked without touching the platform's database (pure).
// What only the database can tell (the tables and columns exist, the foreign-key order holds) is checked by
// `PostgresConnector.inspect`; both report the field they are about (`dataConnector.tables[2].tenantColumn`).
import { ErrorDetail, unprocessable } from '../common/errors';

export interface ConnectorTable {
  /** `table` or `schema.table`; unqualified names resolve through the connection's search_path. */
  table: string;
  /** The column that holds the tenant's id in this table. */
  tenantColumn: string;
}

export interface DataConnectorSpec {
  kind: 'postgres';
  /** postgres:// URL of the platform's shared database. A secret: stored sealed, never returned. */
  url: string;
  /** The tenant-scoped tables, in foreign-key order (a table comes after every declared table it references). */
  tables: ConnectorTable[];
}

/** The connector as it is shown and hashed: everything but the URL, which is a secret. */
export interface DataConnectorView {
  kind: 'postgres';
  tables: ConnectorTable[];
  /** SHA-256 of the URL: tells that it changed without showing it. */
  urlHash: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
const TABLE = /^([A-Za-z_][A-Za-z0-9_$]{0,62}\.)?[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
export const MAX_CONNECTOR_TABLES = 100;

export function parseDataConnector(input: unknown, field = 'dataConnector'): DataConnectorSpec {
  const details: ErrorDetail[] = [];
  const bad = (f: string, reason: string) => details.push({ field: f, reason });
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw unprocessable('CONNECTOR.INVALID', `${field} must be an object`, [
      { field, reason: 'must be an object {kind, url, tables}' },
    ]);
  }
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['kind', 'url', 'tables'].includes(k))
      bad(`${field}.${k}`, 'unknown field; expected kind, url, tables');
  }
  if (o.kind !== 'postgres') bad(`${field}.kind`, 'must be "postgres"');
  let url = '';
  if (typeof o.url !== 'string' || o.url.length === 0 || o.url.length > 2000) {
    bad(`${field}.url`, 'must be a postgres:// URL of at most 2000 characters');
  } else {
    try {
      const u = new URL(o.url);
      if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
        bad(`${field}.url`, 'must be a postgres:// or postgresql:// URL');
      } else url = o.url;
    } catch {
      bad(`${field}.url`, 'is not a URL; expected postgres://user:password@host:port/database');
    }
  }
  const tables: ConnectorTable[] = [];
  if (!Array.isArray(o.tables) || o.tables.length === 0 || o.tables.length > MAX_CONNECTOR_TABLES) {
    bad(`${field}.tables`, `must be a list of 1 to ${MAX_CONNECTOR_TABLES} {table, tenantColumn}`);
  } else {
    const seen = new Set<string>();
    o.tables.forEach((t: unknown, i) => {
      const f = `${field}.tables[${i}]`;
      if (t === null || typeof t !== 'object' || Array.isArray(t))
        return bad(f, 'must be {table, tenantColumn}');
      const r = t as Record<string, unknown>;
      for (const k of Object.keys(r)) {
        if (!['table', 'tenantColumn'].includes(k))
          bad(`${f}.${k}`, 'unknown field; expected table, tenantColumn');
      }
      const okTable = typeof r.table === 'string' && TABLE.test(r.table);
      const okCol = typeof r.tenantColumn === 'string' && IDENT.test(r.tenantColumn);
      if (!okTable) bad(`${f}.table`, 'must be a table name (table or schema.table, letters, digits, _)');
      if (!okCol) bad(`${f}.tenantColumn`, 'must be a column name (letters, digits, _)');
      if (okTable && seen.has(r.table as string)) bad(`${f}.table`, `${r.table as string} is listed twice`);
      if (okTable) seen.add(r.table as string);
      if (okTable && okCol) tables.push({ table: r.table as string, tenantColumn: r.tenantColumn as string });
    });
  }
  if (details.length > 0) {
    throw unprocessable(
      'CONNECTOR.INVALID',
      `Invalid ${field}: ${details.map((d) => `${d.field} ${d.reason}`).join('; ')}`,
      details,
    );
  }
  return { kind: 'postgres', url, tables };
}
