import { QueryRunner, TableColumnOptions } from 'typeorm';

// Column builders for migrations written with TypeORM's schema API, so that one set of migrations serves SQLite
// and PostgreSQL (STYLE.md habit 7). Only the timestamp type differs between the two.
export const isPostgres = (qr: QueryRunner): boolean => qr.connection.options.type === 'postgres';

export const id = (name = 'id', length = 36): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: String(length),
  isPrimary: true,
});
export const str = (name: string, length: number, nullable = false): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: String(length),
  isNullable: nullable,
});
export const text = (name: string, nullable = false): TableColumnOptions => ({
  name,
  type: 'text',
  isNullable: nullable,
});
export const int = (
  name: string,
  opts: { nullable?: boolean; primary?: boolean; default?: number } = {},
): TableColumnOptions => ({
  name,
  type: 'integer',
  isNullable: opts.nullable ?? false,
  isPrimary: opts.primary ?? false,
  default: opts.default,
});
export const bool = (name: string, def: boolean): TableColumnOptions => ({
  name,
  type: 'boolean',
  default: def,
});
/** A point in time: `timestamptz` on PostgreSQL, `datetime` (UTC text) on SQLite. */
export const ts = (qr: QueryRunner, name: string, nullable = false): TableColumnOptions => ({
  name,
  type: isPostgres(qr) ? 'timestamptz' : 'datetime',
  isNullable: nullable,
});
