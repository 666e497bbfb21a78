// The reference platform's shared database: every tenant (a "site") lives in the same tables, told apart by a tenant
// key column (`site_id`). PostgreSQL (a schema of its own) when a URL is given, else a SQLite file: the tests run it
// on the database of the pass they are in. Portable SQL only; `?` placeholders become `$n` on PostgreSQL.
import Database from 'better-sqlite3';
import { Pool, PoolClient } from 'pg';

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a write; resolves to the number of rows it changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
}

export interface PlatformDb extends Queryable {
  readonly kind: 'sqlite' | 'postgres';
  /** The PostgreSQL schema the tables live in (null on SQLite). */
  readonly schema: string | null;
  /** The connection URL another program (e.g. a data connector) uses to reach these tables. */
  readonly url: string;
  transaction<T>(work: (q: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * The tenant-scoped tables, parents first (the order rows must be inserted in; delete in reverse), each with the
 * column that holds the tenant (site) id. A data connector is configured with exactly this list.
 */
export const TENANT_TABLES = [
  { table: 'sites', tenantKey: 'id', primaryKey: ['id'] },
  { table: 'app_installations', tenantKey: 'site_id', primaryKey: ['site_id', 'app_key'] },
  { table: 'site_pages', tenantKey: 'site_id', primaryKey: ['id'] },
  { table: 'site_members', tenantKey: 'site_id', primaryKey: ['id'] },
] as const;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS sites (
     id varchar(128) PRIMARY KEY,
     name varchar(200) NOT NULL,
     tier varchar(16) NOT NULL,
     region varchar(64),
     status varchar(32) NOT NULL,
     updated_at varchar(40) NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS app_installations (
     site_id varchar(128) NOT NULL REFERENCES sites(id),
     app_key varchar(64) NOT NULL,
     status varchar(32) NOT NULL,
     settings text NOT NULL,
     updated_at varchar(40) NOT NULL,
     PRIMARY KEY (site_id, app_key))`,
  `CREATE TABLE IF NOT EXISTS site_pages (
     id varchar(64) PRIMARY KEY,
     site_id varchar(128) NOT NULL REFERENCES sites(id),
     app_key varchar(64),
     title varchar(200) NOT NULL,
     body text NOT NULL,
     revision integer NOT NULL,
     updated_at varchar(40) NOT NULL,
     FOREIGN KEY (site_id, app_key) REFERENCES app_installations(site_id, app_key))`,
  `CREATE INDEX IF NOT EXISTS site_pages_site ON site_pages (site_id)`,
  `CREATE TABLE IF NOT EXISTS site_members (
     id varchar(64) PRIMARY KEY,
     site_id varchar(128) NOT NULL REFERENCES sites(id),
     email varchar(200) NOT NULL,
     role varchar(32) NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS site_members_site ON site_members (site_id)`,
  // Not tenant data: the platform's record of Idempotency-Keys it has answered (and how often they came again).
  `CREATE TABLE IF NOT EXISTS platform_idempotency (
     idempotency_key varchar(300) PRIMARY KEY,
     endpoint varchar(64) NOT NULL,
     status integer NOT NULL,
     response text NOT NULL,
     repeats integer NOT NULL,
     created_at varchar(40) NOT NULL)`,
];

const toPg = (sql: string): string => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

class SqliteDb implements PlatformDb {
  readonly kind = 'sqlite' as const;
  readonly schema = null;
  private readonly db: Database.Database;
  // One connection: transactions are serialised here (better-sqlite3 is synchronous, but `work` may await).
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
  }

  get url(): string {
    return `sqlite:${this.file}`;
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.db.prepare(sql).all(...(params as never[])) as T[];
  }

  async run(sql: string, params: unknown[] = []): Promise<number> {
    return this.db.prepare(sql).run(...(params as never[])).changes;
  }

  transaction<T>(work: (q: Queryable) => Promise<T>): Promise<T> {
    const next = this.chain.then(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const out = await work(this);
        this.db.exec('COMMIT');
        return out;
      } catch (e) {
        this.db.exec('ROLLBACK');
        throw e;
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.chain;
    this.db.close();
  }
}

class PgClientQ implements Queryable {
  constructor(private readonly c: PoolClient | Pool) {}
  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.c.query(toPg(sql), params)).rows as T[];
  }
  async run(sql: string, params: unknown[] = []): Promise<number> {
    return (await this.c.query(toPg(sql), params)).rowCount ?? 0;
  }
}

class PostgresDb implements PlatformDb {
  readonly kind = 'postgres' as const;
  private readonly pool: Pool;
  private readonly q: PgClientQ;

  constructor(
    private readonly baseUrl: string,
    readonly schema: string,
  ) {
    this.pool = new Pool({ connectionString: baseUrl, max: 8, options: `-c search_path=${schema}` });
    this.q = new PgClientQ(this.pool);
  }

  get url(): string {
    const u = new URL(this.baseUrl);
    u.searchParams.set('schema', this.schema);
    return u.toString();
  }

  query<T>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.q.query<T>(sql, params);
  }

  run(sql: string, params?: unknown[]): Promise<number> {
    return this.q.run(sql, params);
  }

  async transaction<T>(work: (q: Queryable) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await work(new PgClientQ(c));
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export interface OpenPlatformDbOptions {
  /** `postgres://…`: the tables go into `schema` (created if missing). Otherwise `sqliteFile` is used. */
  postgresUrl?: string;
  schema?: string;
  sqliteFile?: string;
}

/** Opens (and creates the tables of) the platform's database. */
export async function openPlatformDb(o: OpenPlatformDbOptions): Promise<PlatformDb> {
  let db: PlatformDb;
  if (o.postgresUrl) {
    const schema = o.schema ?? 'reference_platform';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`bad schema name ${schema}`);
    const admin = new Pool({ connectionString: o.postgresUrl, max: 1 });
    await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await admin.end();
    db = new PostgresDb(o.postgresUrl, schema);
  } else {
    if (!o.sqliteFile) throw new Error('give postgresUrl or sqliteFile');
    db = new SqliteDb(o.sqliteFile);
  }
  for (const stmt of SCHEMA) await db.run(stmt);
  return db;
}

/** Drops the platform's PostgreSQL schema (tests). */
export async function dropPlatformSchema(postgresUrl: string, schema: string): Promise<void> {
  const admin = new Pool({ connectionString: postgresUrl, max: 1 });
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
}

/** Inserts rows in chunks with one multi-row INSERT each (1,000 sites seed in well under a second). */
export async function insertMany(
  q: Queryable,
  table: string,
  columns: string[],
  rows: unknown[][],
  chunk = 200,
): Promise<void> {
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    const values = part.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ');
    await q.run(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values}`, part.flat());
  }
}
