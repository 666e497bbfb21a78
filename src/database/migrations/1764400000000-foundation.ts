import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { bool, id, int, str, text, ts } from './schema.helpers';

export class Foundation1764400000000 implements MigrationInterface {
  name = 'Foundation1764400000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.createTable(
      new Table({
        name: 'users',
        columns: [
          id(),
          { ...str('email', 254), isUnique: true },
          str('name', 200),
          str('password_hash', 255),
          text('roles'),
          bool('disabled', false),
          ts(qr, 'created_at'),
          ts(qr, 'updated_at'),
        ],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'sessions',
        columns: [
          id(),
          str('user_id', 36),
          ts(qr, 'created_at'),
          ts(qr, 'expires_at'),
          ts(qr, 'revoked_at', true),
        ],
        foreignKeys: [
          { columnNames: ['user_id'], referencedTableName: 'users', referencedColumnNames: ['id'] },
        ],
        indices: [{ columnNames: ['user_id'] }],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'api_tokens',
        columns: [
          id(),
          str('name', 200),
          str('kind', 16),
          str('environment', 100, true),
          { ...str('token_hash', 64), isUnique: true },
          str('prefix', 16),
          str('created_by', 80),
          ts(qr, 'created_at'),
          ts(qr, 'last_used_at', true),
          ts(qr, 'revoked_at', true),
        ],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'audit_entries',
        columns: [
          int('seq', { primary: true }),
          ts(qr, 'at'),
          str('actor', 80),
          str('action', 100),
          str('entity_type', 50),
          str('entity_id', 300),
          text('data'),
          str('prev_hash', 64),
          str('hash', 64),
        ],
      }),
    );
    await qr.createIndices('audit_entries', [
      new TableIndex({ columnNames: ['entity_type', 'entity_id'] }),
      new TableIndex({ columnNames: ['actor'] }),
      new TableIndex({ columnNames: ['at'] }),
    ]);
    await qr.createTable(
      new Table({ name: 'ledger_heads', columns: [id('name', 50), int('seq'), str('hash', 64)] }),
    );
    await qr.createTable(
      new Table({
        name: 'events',
        columns: [
          int('seq', { primary: true }),
          { ...str('id', 36), isUnique: true },
          str('type', 100),
          str('entity_type', 50),
          str('entity_id', 300),
          str('actor', 80),
          ts(qr, 'occurred_at'),
          text('data'),
        ],
        indices: [{ columnNames: ['type'] }, { columnNames: ['entity_type', 'entity_id'] }],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'event_consumers',
        columns: [id('name', 100), int('position'), ts(qr, 'updated_at')],
      }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const t of [
      'event_consumers',
      'events',
      'ledger_heads',
      'audit_entries',
      'api_tokens',
      'sessions',
      'users',
    ]) {
      await qr.dropTable(t);
    }
  }
}
