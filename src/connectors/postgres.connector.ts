// The `postgres` data connector: reads one tenant's rows from the platform's shared database in one consistent
// snapshot, and writes them back in one transaction touching no other tenant's rows (ADR 0012). Uses `pg` directly
// (not TypeORM): the platform's tables are not Wavegate's entities, and values must pass through as PostgreSQL text.
import { Pool, PoolClient } from 'pg';
import { conflict, DomainError, unprocessable } from '../common/errors';
import { CONNECTOR_ERRORS } from './connector.errors';
import type { ConnectorTable } from './data-connector.config';
import { InspectedTable, inspectTables } from './postgres.inspect';
import { insertRows, overwriteRows, removeRows, rowsOf, SESSION } from './postgres.statements';
import { CapturedTable, countRows, diffTable, RowCounts, TableDiff, TenantCapture } from './tenant-rows';

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
      this.inspected = await inspectTables(client, this.tables, this.field);
      return this.inspected;
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
      for (const t of tables) out.push({ ...this.shape(t), rows: await rowsOf(client, t, tenantId, false) });
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
        diffs.push(diffTable(capture.tables[i], await rowsOf(client, t, capture.tenantId, false)));
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
        diffs.push(diffTable(capture.tables[i], await rowsOf(client, t, capture.tenantId, true)));
      }
      for (let i = tables.length - 1; i >= 0; i--) {
        step = `removing rows of ${tables[i].name}`;
        await removeRows(client, tables[i], capture.tenantId, diffs[i].remove);
      }
      for (const [i, t] of tables.entries()) {
        step = `writing rows of ${t.name}`;
        await insertRows(client, t, diffs[i].write);
        await overwriteRows(client, t, capture.tenantId, diffs[i].overwrite);
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
