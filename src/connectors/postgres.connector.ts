// The `postgres` data connector: reads one tenant's rows from the platform's shared database in one consistent
// snapshot, and writes them back in one transaction touching no other tenant's rows (ADR 0012). Uses `pg` directly
// (not TypeORM): the platform's tables are not Wavegate's entities, and values must pass through as PostgreSQL text.
import { Pool, PoolClient } from 'pg';
import { conflict, DomainError, ErrorDetail, unprocessable } from '../common/errors';
import type { ConnectorTable } from './data-connector.config';
import {
  CapturedColumn,
  CapturedTable,
  countRows,
  diffTable,
  pkIndexes,
  RowCounts,
  TableDiff,
  TenantCapture,
} from './tenant-rows';

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

export const CONNECTOR_ERRORS = {
  INVALID: 'CONNECTOR.INVALID',
  UNREACHABLE: 'CONNECTOR.UNREACHABLE',
  SCHEMA_CHANGED: 'CONNECTOR.SCHEMA_CHANGED',
  ROW_TAKEN: 'CONNECTOR.ROW_OF_ANOTHER_TENANT',
  RESTORE_FAILED: 'CONNECTOR.RESTORE_FAILED',
} as const;

// Fixed text output for every value, whatever the server's or role's defaults: the capture must read back exactly.
const SESSION =
  "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'; " +
  "SET LOCAL extra_float_digits = 1; SET LOCAL bytea_output = 'hex'";
const MAX_PARAMS = 60_000;

export const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** The URL without its password, for error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

function schemaOf(url: string): string | null {
  try {
    const s = new URL(url).searchParams.get('schema');
    return s && /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(s) ? s : null;
  } catch {
    return null;
  }
}

export class PostgresConnector {
  private readonly pool: Pool;
  private inspected?: InspectedTable[];

  constructor(
    readonly name: string,
    url: string,
    readonly tables: readonly ConnectorTable[],
    opts: { field?: string; statementTimeoutMs?: number } = {},
  ) {
    this.field = opts.field ?? 'dataConnector';
    // `?schema=name` (as in Wavegate's own DATABASE_URL): unqualified table names resolve in that schema.
    const schema = schemaOf(url);
    this.pool = new Pool({
      connectionString: url,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
      max: 4,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 10_000,
      statement_timeout: opts.statementTimeoutMs ?? 60_000,
      application_name: 'wavegate-connector',
    });
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
    this.url = url;
  }

  private readonly field: string;
  private readonly url: string;

  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * Checks the declared tables against the database: each exists, has a primary key (rows are told apart by it)
   * and the tenant column, and the list is in foreign-key order. Every problem names its field (422).
   */
  async inspect(): Promise<InspectedTable[]> {
    const client = await this.connect();
    try {
      const details: ErrorDetail[] = [];
      const out: InspectedTable[] = [];
      const oids: number[] = [];
      for (const [i, t] of this.tables.entries()) {
        const f = `${this.field}.tables[${i}]`;
        const rel = await client.query<{ oid: number; nspname: string; relname: string; relkind: string }>(
          `SELECT c.oid::int AS oid, n.nspname, c.relname, c.relkind FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`,
          [t.table],
        );
        const r = rel.rows[0];
        if (!r || !['r', 'p'].includes(r.relkind)) {
          details.push({ field: `${f}.table`, reason: `no table ${t.table} in the platform's database` });
          continue;
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
        if (!tenantCol || pk.rows.length === 0) continue;
        oids.push(r.oid);
        out.push({
          declared: t,
          sql: `${quoteIdent(r.nspname)}.${quoteIdent(r.relname)}`,
          name: `${r.nspname}.${r.relname}`,
          // Generated columns are computed by the database; they are neither captured nor written.
          columns: cols.rows.filter((c) => !c.generated).map((c) => ({ name: c.name, type: c.type })),
          primaryKey: pk.rows.map((p) => p.name),
          tenantType: tenantCol.type,
        });
      }
      if (details.length === 0) {
        // Foreign-key order: a table must come after every other declared table it references.
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
              field: `${this.field}.tables`,
              reason: `not in foreign-key order: ${out[ci].name} references ${out[pi].name} (${fk.name}), so ${out[pi].name} must come first`,
            });
          }
        }
      }
      if (details.length > 0) {
        throw unprocessable(
          CONNECTOR_ERRORS.INVALID,
          `Invalid ${this.field}: ${details.map((d) => `${d.field} ${d.reason}`).join('; ')}`,
          details,
        );
      }
      this.inspected = out;
      return out;
    } finally {
      client.release();
    }
  }

  /** The tenant's rows of every declared table, read in ONE snapshot (REPEATABLE READ, READ ONLY). */
  async capture(tenantId: string): Promise<TenantCapture> {
    const tables = this.inspected ?? (await this.inspect());
    const client = await this.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(SESSION);
      // The first statement fixes the snapshot; every table below is read from it.
      const at = await client.query<{ now: string }>(
        `SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS now`,
      );
      const out: CapturedTable[] = [];
      for (const t of tables)
        out.push({ ...this.shape(t), rows: await this.rowsOf(client, t, tenantId, false) });
      await client.query('COMMIT');
      return { format: 1, connector: this.name, tenantId, capturedAt: at.rows[0].now, tables: out };
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /** What restoring `capture` would do now (read-only, one snapshot): per table, rows written/overwritten/removed. */
  async preview(capture: TenantCapture): Promise<{ counts: RowCounts; tables: TableDiff[] }> {
    const tables = await this.matching(capture);
    const client = await this.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(SESSION);
      const diffs: TableDiff[] = [];
      for (const [i, t] of tables.entries()) {
        diffs.push(diffTable(capture.tables[i], await this.rowsOf(client, t, capture.tenantId, false)));
      }
      await client.query('COMMIT');
      return { counts: countRows(diffs), tables: diffs };
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /**
   * Writes the captured rows back in ONE transaction: the tenant's rows now are locked (FOR UPDATE), rows not in the
   * capture are removed (children first), then captured rows are inserted or overwritten in foreign-key order.
   * Every statement is limited to the tenant (its key column); a captured primary key now used by another tenant's
   * row makes the whole restore fail and write nothing.
   */
  async restore(capture: TenantCapture): Promise<{ counts: RowCounts; tables: TableDiff[] }> {
    const tables = await this.matching(capture);
    const client = await this.connect();
    let step = '';
    try {
      await client.query('BEGIN');
      await client.query(SESSION);
      const diffs: TableDiff[] = [];
      for (const [i, t] of tables.entries()) {
        const key = await client.query<{ k: string }>(`SELECT ($1::${t.tenantType})::text AS k`, [
          capture.tenantId,
        ]);
        const ti = t.columns.findIndex((c) => c.name === t.declared.tenantColumn);
        const foreign = capture.tables[i].rows.find((r) => r[ti] !== key.rows[0].k);
        if (foreign) {
          throw conflict(
            CONNECTOR_ERRORS.RESTORE_FAILED,
            `capture of tenant ${capture.tenantId} holds a row of ${t.name} whose ${t.declared.tenantColumn} is ${String(foreign[ti])}; nothing was written`,
          );
        }
        diffs.push(diffTable(capture.tables[i], await this.rowsOf(client, t, capture.tenantId, true)));
      }
      for (let i = tables.length - 1; i >= 0; i--) {
        step = `removing rows of ${tables[i].name}`;
        await this.remove(client, tables[i], capture.tenantId, diffs[i].remove);
      }
      for (const [i, t] of tables.entries()) {
        step = `writing rows of ${t.name}`;
        await this.insert(client, t, diffs[i].write);
        await this.overwrite(client, t, capture.tenantId, diffs[i].overwrite);
      }
      await client.query('COMMIT');
      return { counts: countRows(diffs), tables: diffs };
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (e instanceof DomainError) throw e;
      const pg = e as { code?: string; message?: string; detail?: string };
      if (pg.code === '23505') {
        throw conflict(
          CONNECTOR_ERRORS.ROW_TAKEN,
          `restore of tenant ${capture.tenantId} refused while ${step}: a captured row's key is now used by another row (${pg.detail ?? pg.message}); nothing was written`,
        );
      }
      throw conflict(
        CONNECTOR_ERRORS.RESTORE_FAILED,
        `restore of tenant ${capture.tenantId} failed while ${step || 'reading'}: ${pg.message ?? String(e)}; nothing was written`,
      );
    } finally {
      client.release();
    }
  }

  private shape(t: InspectedTable): Omit<CapturedTable, 'rows'> {
    return {
      table: t.name,
      tenantColumn: t.declared.tenantColumn,
      columns: t.columns,
      primaryKey: t.primaryKey,
    };
  }

  /** The live tables, refusing a capture whose tables or columns no longer match them (a restore writes nothing). */
  private async matching(capture: TenantCapture): Promise<InspectedTable[]> {
    const tables = await this.inspect();
    const problems: string[] = [];
    if (tables.length !== capture.tables.length) {
      problems.push(
        `the connector now declares ${tables.length} table(s), the capture holds ${capture.tables.length}`,
      );
    }
    tables.forEach((t, i) => {
      const c = capture.tables[i];
      if (!c) return;
      const live = JSON.stringify(this.shape(t));
      const was = JSON.stringify({
        table: c.table,
        tenantColumn: c.tenantColumn,
        columns: c.columns,
        primaryKey: c.primaryKey,
      });
      if (live !== was) problems.push(`${c.table} changed since the capture (columns, types or primary key)`);
    });
    if (problems.length > 0) {
      throw conflict(
        CONNECTOR_ERRORS.SCHEMA_CHANGED,
        `cannot restore tenant ${capture.tenantId} from this capture: ${problems.join('; ')}`,
      );
    }
    return tables;
  }

  private async rowsOf(
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

  private async insert(client: PoolClient, t: InspectedTable, rows: (string | null)[][]): Promise<void> {
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

  private async overwrite(
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

  private async remove(
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

  private async connect(): Promise<PoolClient> {
    try {
      return await this.pool.connect();
    } catch (e) {
      const msg = (e instanceof Error ? e.message : String(e)).split(this.url).join(redactUrl(this.url));
      throw unprocessable(CONNECTOR_ERRORS.UNREACHABLE, `cannot connect to ${redactUrl(this.url)}: ${msg}`, [
        { field: `${this.field}.url`, reason: `cannot connect: ${msg}` },
      ]);
    }
  }
}
