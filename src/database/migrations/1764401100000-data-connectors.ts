import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { id, int, str, text, ts } from './schema.helpers';

// The `postgres` data connector (ADR 0012): its configuration (URL sealed) and the per-tenant captures of the
// platform's rows taken before destructive operations (sealed with the tenant's data key, like tenant snapshots).
export class DataConnectors1764401100000 implements MigrationInterface {
  name = 'DataConnectors1764401100000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.createTable(
      new Table({
        name: 'data_connectors',
        columns: [
          id('name', 100),
          str('kind', 20),
          text('url_sealed'),
          str('url_hash', 64),
          text('tables'),
          int('version'),
          str('proposed_by', 200),
          str('approved_by', 200),
          ts(qr, 'updated_at'),
        ],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'data_connector_proposals',
        columns: [
          id('name', 100),
          text('spec_sealed'),
          str('proposal_hash', 64),
          str('proposed_by', 200),
          ts(qr, 'proposed_at'),
        ],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'connector_captures',
        columns: [
          id(),
          str('connector', 100),
          str('tenant_id', 128),
          str('change_request_id', 36, true),
          str('reason', 200),
          str('hash', 64),
          text('sealed'),
          int('row_count'),
          ts(qr, 'created_at'),
        ],
        indices: [{ columnNames: ['tenant_id', 'connector', 'created_at'] }],
      }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropTable('connector_captures');
    await qr.dropTable('data_connector_proposals');
    await qr.dropTable('data_connectors');
  }
}
