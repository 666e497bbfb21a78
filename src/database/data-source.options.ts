import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { types as pgTypes } from 'pg';
import { DataSourceOptions } from 'typeorm';
import { DatabaseConfig } from '../config/config.schema';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

// `count(*)` and other int8 results arrive as strings from pg; every count Wavegate reads fits in a JS number.
pgTypes.setTypeParser(20, (v) => Number(v));

/** `poolSize`: connections per process to PostgreSQL (WAVEGATE_DB_POOL_SIZE; see docs/operations.md, pool sizing). */
export function buildDataSourceOptions(db: DatabaseConfig, poolSize = 10): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: false,
    synchronize: false,
    logging: false,
  };
  if (db.kind === 'sqlite') {
    if (db.path !== ':memory:') mkdirSync(dirname(db.path), { recursive: true });
    return {
      ...common,
      type: 'better-sqlite3',
      database: db.path,
      // WAL lets readers (backups, the CLI) work beside the server; foreign keys are off by default in SQLite.
      prepareDatabase: (conn: { pragma: (s: string) => unknown }) => {
        conn.pragma('journal_mode = WAL');
        conn.pragma('foreign_keys = ON');
        conn.pragma('busy_timeout = 5000');
        conn.pragma('synchronous = NORMAL');
      },
      migrationsTransactionMode: 'each',
    };
  }
  return {
    ...common,
    type: 'postgres',
    url: db.url,
    schema: db.schema,
    extra: { max: poolSize, ...(db.schema ? { options: `-c search_path=${db.schema}` } : {}) },
    migrationsTransactionMode: 'each',
  };
}
