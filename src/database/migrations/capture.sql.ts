import { QueryRunner } from 'typeorm';
import { isPostgres } from './schema.helpers';

// Row-level change capture by database triggers (docs/decisions/0011-change-capture-triggers.md). Only built-in
// SQL: a writer outside Wavegate (the sqlite3 CLI, psql, a script) fires the same triggers and needs nothing of ours.
// A migration that adds a column to a captured table calls `createCaptureTriggers` again for that table (SQLite
// lists the columns in the trigger; PostgreSQL's to_jsonb takes the whole row).

export interface CaptureSpec {
  name: string;
  tenantColumn: string;
  excluded: string[];
}

const q = (ident: string): string => `"${ident.replace(/"/g, '""')}"`;
const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

export async function currentSchema(qr: QueryRunner): Promise<string> {
  const rows = (await qr.query('SELECT current_schema() AS s')) as Array<{ s: string }>;
  return rows[0].s;
}

/** The PostgreSQL trigger function; schema-qualified, so it works whatever the writer's search_path. */
export function postgresCaptureFunction(schema: string): string {
  const s = q(schema);
  return `
CREATE OR REPLACE FUNCTION ${s}.wavegate_capture() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  b jsonb;
  a jsonb;
  ex text[] := TG_ARGV[1:];
BEGIN
  IF TG_OP <> 'INSERT' THEN b := to_jsonb(OLD) - ex; END IF;
  IF TG_OP <> 'DELETE' THEN a := to_jsonb(NEW) - ex; END IF;
  IF TG_OP = 'UPDATE' AND a = b THEN RETURN NULL; END IF;
  -- Once per transaction, before its first position is allocated: a shared advisory lock whose key encodes the
  -- sequence's value now (a floor under every position this transaction will get). Readers of the feed hand out
  -- only positions below the lowest floor held, so a transaction that commits late is never skipped.
  IF COALESCE(current_setting('wavegate.capture_floor', true), '') = '' THEN
    PERFORM pg_advisory_xact_lock_shared(-1 - (SELECT last_value FROM ${s}.row_changes_position_seq));
    PERFORM set_config('wavegate.capture_floor', '1', true);
  END IF;
  INSERT INTO ${s}.row_changes (tx_id, changed_at, table_name, tenant_id, op, before_image, after_image)
  VALUES (pg_current_xact_id()::text::bigint, clock_timestamp(), TG_TABLE_NAME, COALESCE(a, b) ->> TG_ARGV[0],
          left(TG_OP, 1), b::text, a::text);
  RETURN NULL;
END
$fn$`;
}

/** (Re)creates the capture triggers of one table. */
export async function createCaptureTriggers(qr: QueryRunner, spec: CaptureSpec): Promise<void> {
  if (isPostgres(qr)) {
    const schema = await currentSchema(qr);
    const args = [spec.tenantColumn, ...spec.excluded].map(lit).join(', ');
    await qr.query(`DROP TRIGGER IF EXISTS wavegate_capture ON ${q(schema)}.${q(spec.name)}`);
    await qr.query(
      `CREATE TRIGGER wavegate_capture AFTER INSERT OR UPDATE OR DELETE ON ${q(schema)}.${q(spec.name)} ` +
        `FOR EACH ROW EXECUTE FUNCTION ${q(schema)}.wavegate_capture(${args})`,
    );
    return;
  }
  const cols = ((await qr.query(`PRAGMA table_info(${q(spec.name)})`)) as Array<{ name: string }>)
    .map((c) => c.name)
    .filter((c) => !spec.excluded.includes(c));
  const image = (row: 'OLD' | 'NEW') =>
    `json_object(${cols.map((c) => `${lit(c)}, ${row}.${q(c)}`).join(', ')})`;
  // SQLite has no transaction id: Wavegate's TransactionRunner opens each write transaction by bumping
  // capture_tx.tx and setting open = 1, and sets open = 0 again just before commit, so the committed state always
  // has open = 0. A change made inside a Wavegate transaction gets its tx; any other writer's changes get NULL.
  const tx = `(SELECT CASE WHEN open = 1 THEN tx END FROM capture_tx WHERE id = 1)`;
  const now = `strftime('%Y-%m-%d %H:%M:%f', 'now')`;
  const insert = (op: string, before: string, after: string, tenant: string) =>
    `INSERT INTO row_changes (tx_id, changed_at, table_name, tenant_id, op, before_image, after_image) ` +
    `VALUES (${tx}, ${now}, ${lit(spec.name)}, ${tenant}, ${lit(op)}, ${before}, ${after});`;
  const tcol = q(spec.tenantColumn);
  const changed = cols.map((c) => `OLD.${q(c)} IS NOT NEW.${q(c)}`).join(' OR ');
  for (const kind of ['insert', 'update', 'delete'] as const)
    await qr.query(`DROP TRIGGER IF EXISTS ${q(`wavegate_capture_${spec.name}_${kind}`)}`);
  await qr.query(
    `CREATE TRIGGER ${q(`wavegate_capture_${spec.name}_insert`)} AFTER INSERT ON ${q(spec.name)} BEGIN ` +
      insert('I', 'NULL', image('NEW'), `NEW.${tcol}`) +
      ' END',
  );
  await qr.query(
    `CREATE TRIGGER ${q(`wavegate_capture_${spec.name}_update`)} AFTER UPDATE ON ${q(spec.name)} ` +
      `WHEN ${changed} BEGIN ` +
      insert('U', image('OLD'), image('NEW'), `NEW.${tcol}`) +
      ' END',
  );
  await qr.query(
    `CREATE TRIGGER ${q(`wavegate_capture_${spec.name}_delete`)} AFTER DELETE ON ${q(spec.name)} BEGIN ` +
      insert('D', image('OLD'), 'NULL', `OLD.${tcol}`) +
      ' END',
  );
}

/** Records every existing row of the table as an insert, so that the capture is complete from the migration on. */
export async function captureExistingRows(qr: QueryRunner, spec: CaptureSpec): Promise<void> {
  if (isPostgres(qr)) {
    const ex = spec.excluded.length ? ` - ARRAY[${spec.excluded.map(lit).join(', ')}]::text[]` : '';
    await qr.query(
      `INSERT INTO row_changes (tx_id, changed_at, table_name, tenant_id, op, before_image, after_image) ` +
        `SELECT pg_current_xact_id()::text::bigint, clock_timestamp(), ${lit(spec.name)}, t.${q(spec.tenantColumn)}, 'I', NULL, ` +
        `(to_jsonb(t)${ex})::text FROM ${q(spec.name)} t`,
    );
    return;
  }
  const cols = ((await qr.query(`PRAGMA table_info(${q(spec.name)})`)) as Array<{ name: string }>)
    .map((c) => c.name)
    .filter((c) => !spec.excluded.includes(c));
  await qr.query(
    `INSERT INTO row_changes (tx_id, changed_at, table_name, tenant_id, op, before_image, after_image) ` +
      `SELECT NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'), ${lit(spec.name)}, ${q(spec.tenantColumn)}, 'I', NULL, ` +
      `json_object(${cols.map((c) => `${lit(c)}, ${q(c)}`).join(', ')}) FROM ${q(spec.name)}`,
  );
}
