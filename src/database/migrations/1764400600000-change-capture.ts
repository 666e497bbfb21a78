import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import {
  captureExistingRows,
  CaptureSpec,
  createCaptureTriggers,
  postgresCaptureFunction,
  currentSchema,
} from './capture.sql';
import { int, isPostgres, str, text, ts } from './schema.helpers';

// Row-level change capture (docs/decisions/0011-change-capture-triggers.md): the row_changes table, the triggers on
// every tenant-scoped table, and (SQLite) the capture_tx row that stands in for a transaction id. Existing rows are
// recorded as inserts so the capture is complete from here on.
const TABLES: CaptureSpec[] = [
  { name: 'tenants', tenantColumn: 'id', excluded: [] },
  { name: 'installations', tenantColumn: 'tenant_id', excluded: [] },
  { name: 'tenant_snapshots', tenantColumn: 'tenant_id', excluded: ['sealed'] },
  { name: 'tenant_keys', tenantColumn: 'tenant_id', excluded: ['wrapped_key'] },
  { name: 'erasure_receipts', tenantColumn: 'tenant_id', excluded: [] },
];

export class ChangeCapture1764400600000 implements MigrationInterface {
  name = 'ChangeCapture1764400600000';

  async up(qr: QueryRunner): Promise<void> {
    const pg = isPostgres(qr);
    await qr.createTable(
      new Table({
        name: 'row_changes',
        columns: [
          {
            name: 'position',
            type: pg ? 'bigint' : 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'tx_id', type: pg ? 'bigint' : 'integer', isNullable: true },
          ts(qr, 'changed_at'),
          str('table_name', 64),
          str('tenant_id', 128),
          str('op', 1),
          text('before_image', true),
          text('after_image', true),
        ],
      }),
    );
    await qr.createIndices('row_changes', [
      new TableIndex({ columnNames: ['tenant_id', 'position'] }),
      new TableIndex({ columnNames: ['changed_at'] }),
    ]);
    if (pg) {
      await qr.query(postgresCaptureFunction(await currentSchema(qr)));
    } else {
      await qr.createTable(
        new Table({ name: 'capture_tx', columns: [int('id', { primary: true }), int('tx'), int('open')] }),
      );
      await qr.query('INSERT INTO capture_tx (id, tx, open) VALUES (1, 0, 0)');
    }
    for (const t of TABLES) {
      await captureExistingRows(qr, t);
      await createCaptureTriggers(qr, t);
    }
  }

  async down(qr: QueryRunner): Promise<void> {
    if (isPostgres(qr)) {
      const schema = await currentSchema(qr);
      for (const t of TABLES) await qr.query(`DROP TRIGGER IF EXISTS wavegate_capture ON "${t.name}"`);
      await qr.query(`DROP FUNCTION IF EXISTS "${schema}".wavegate_capture()`);
    } else {
      for (const t of TABLES)
        for (const kind of ['insert', 'update', 'delete'])
          await qr.query(`DROP TRIGGER IF EXISTS "wavegate_capture_${t.name}_${kind}"`);
      await qr.dropTable('capture_tx');
    }
    await qr.dropTable('row_changes');
  }
}
