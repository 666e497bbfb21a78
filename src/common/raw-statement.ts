import { EntityManager } from 'typeorm';
import { DateUtils } from 'typeorm/util/DateUtils';

/**
 * Runs one parameterised write on the transaction's connection and returns the affected row count. Only for the
 * engine's per-target hot path, where TypeORM's query builder costs more than SQLite itself (docs/benchmarks.md).
 * Portable SQL only: `?` placeholders become `$n` on PostgreSQL; dates are bound as TypeORM stores them on SQLite.
 */
export async function executeWrite(
  m: EntityManager,
  sql: string,
  params: readonly unknown[],
): Promise<number> {
  const qr = m.queryRunner;
  if (!qr) throw new Error('executeWrite runs inside a transaction');
  const pg = m.connection.options.type === 'postgres';
  let n = 0;
  const text = pg ? sql.replace(/\?/g, () => `$${++n}`) : sql;
  const values = pg
    ? [...params]
    : params.map((p) => (p instanceof Date ? DateUtils.mixedDateToUtcDatetimeString(p) : p));
  const res = (await qr.query(text, values, true)) as { affected?: number | null };
  return res.affected ?? 0;
}
