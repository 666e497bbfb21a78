import Database from 'better-sqlite3';
import { Client } from 'pg';
import { TestDatabase } from './test-app';

/**
 * A writer outside Wavegate, as the outage's bad script was: its own connection to the database (a plain
 * better-sqlite3 connection with no functions of ours; on PostgreSQL a client on the default search_path, naming
 * the schema), running raw SQL with `?` placeholders.
 */
export interface OutsideWriter {
  /** Runs the statements in one transaction; table names are qualified with the schema on PostgreSQL. */
  run(statements: Array<[sql: string, params?: unknown[]]>): Promise<void>;
  /** Begins a transaction left open until `commit()` (PostgreSQL: to hold a capture position uncommitted). */
  begin(statements: Array<[sql: string, params?: unknown[]]>): Promise<{ commit(): Promise<void> }>;
  close(): Promise<void>;
}

export async function outsideWriter(db: TestDatabase): Promise<OutsideWriter> {
  if (db.schema) {
    const u = new URL(db.databaseUrl);
    u.searchParams.delete('schema');
    const connect = async () => {
      const c = new Client({ connectionString: u.toString() });
      await c.connect();
      return c;
    };
    const schema = db.schema;
    const pgSql = (sql: string) => {
      let i = 0;
      return sql
        .replace(/\b(tenants|installations|row_changes)\b/g, `${schema}.$1`)
        .replace(/\?/g, () => `$${++i}`);
    };
    const main = await connect();
    return {
      async run(statements) {
        await main.query('BEGIN');
        for (const [sql, params] of statements) await main.query(pgSql(sql), params ?? []);
        await main.query('COMMIT');
      },
      async begin(statements) {
        const c = await connect();
        await c.query('BEGIN');
        for (const [sql, params] of statements) await c.query(pgSql(sql), params ?? []);
        return {
          async commit() {
            await c.query('COMMIT');
            await c.end();
          },
        };
      },
      close: () => main.end(),
    };
  }
  const file = db.databaseUrl.replace(/^sqlite:/, '');
  const conn = new Database(file);
  conn.pragma('busy_timeout = 5000');
  return {
    run(statements) {
      conn.transaction(() => {
        for (const [sql, params] of statements) conn.prepare(sql).run(...(params ?? []));
      })();
      return Promise.resolve();
    },
    begin() {
      return Promise.reject(new Error('SQLite serialises writers: no second open write transaction'));
    },
    close() {
      conn.close();
      return Promise.resolve();
    },
  };
}
