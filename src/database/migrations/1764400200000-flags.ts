import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { bool, id, int, isPostgres, str, text, ts } from './schema.helpers';

// Environments, flags with per-environment configuration, segments, client metrics, registered SDK instances
// and SDK error reports (issue 5).
export class Flags1764400200000 implements MigrationInterface {
  name = 'Flags1764400200000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.createTable(
      new Table({
        name: 'environments',
        columns: [
          id('name', 100),
          bool('requires_change_request', false),
          int('sort_order', { default: 0 }),
          ts(qr, 'created_at'),
          ts(qr, 'updated_at'),
        ],
      }),
    );
    const p = (n: number) => (isPostgres(qr) ? `$${n}` : '?');
    const seeds: Array<[string, boolean, number]> = [
      ['development', false, 10],
      ['staging', false, 20],
      ['production', true, 30],
    ];
    for (const [name, requires, order] of seeds) {
      await qr.query(
        `INSERT INTO environments (name, requires_change_request, sort_order, created_at, updated_at) ` +
          `VALUES (${p(1)}, ${p(2)}, ${p(3)}, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
        [name, isPostgres(qr) ? requires : requires ? 1 : 0, order],
      );
    }
    await qr.createTable(
      new Table({
        name: 'flags',
        columns: [
          id('key', 100),
          text('description', true),
          str('type', 20),
          text('tags'),
          bool('impression_data', false),
          text('dependencies'),
          bool('archived', false),
          ts(qr, 'archived_at', true),
          int('version'),
          str('created_by', 80),
          ts(qr, 'created_at'),
          ts(qr, 'updated_at'),
        ],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'flag_environments',
        columns: [
          { ...str('flag_key', 100), isPrimary: true },
          { ...str('environment', 100), isPrimary: true },
          bool('enabled', false),
          text('strategies'),
          text('variants'),
          int('version'),
          str('updated_by', 80),
          ts(qr, 'updated_at'),
        ],
        foreignKeys: [
          { columnNames: ['flag_key'], referencedTableName: 'flags', referencedColumnNames: ['key'] },
          {
            columnNames: ['environment'],
            referencedTableName: 'environments',
            referencedColumnNames: ['name'],
          },
        ],
        indices: [{ columnNames: ['environment'] }],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'segments',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { ...str('name', 100), isUnique: true },
          text('description', true),
          text('constraints'),
          int('version'),
          ts(qr, 'created_at'),
          ts(qr, 'updated_at'),
        ],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'flag_metrics',
        columns: [
          { ...str('flag_key', 100), isPrimary: true },
          { ...str('environment', 100), isPrimary: true },
          { ...str('app_name', 200), isPrimary: true },
          { ...ts(qr, 'hour_start'), isPrimary: true },
          // '' for the flag's yes/no row; a variant's name for its count (in `yes`).
          { ...str('variant', 100), isPrimary: true },
          int('yes', { default: 0 }),
          int('no', { default: 0 }),
        ],
        indices: [{ columnNames: ['flag_key', 'hour_start'] }],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'client_instances',
        columns: [
          { ...str('app_name', 200), isPrimary: true },
          { ...str('instance_id', 200), isPrimary: true },
          { ...str('environment', 100), isPrimary: true },
          str('sdk_version', 100, true),
          text('strategies'),
          int('interval_ms', { nullable: true }),
          ts(qr, 'started_at', true),
          ts(qr, 'registered_at', true),
          ts(qr, 'last_seen_at'),
        ],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'flag_error_reports',
        columns: [
          id(),
          str('environment', 100),
          str('flag_key', 100),
          str('tenant_id', 200, true),
          int('count'),
          text('message'),
          str('app_name', 200, true),
          str('token_id', 36),
          ts(qr, 'received_at'),
        ],
        indices: [
          { columnNames: ['flag_key', 'received_at'] },
          { columnNames: ['tenant_id', 'received_at'] },
        ],
      }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const t of [
      'flag_error_reports',
      'client_instances',
      'flag_metrics',
      'segments',
      'flag_environments',
      'flags',
      'environments',
    ]) {
      await qr.dropTable(t);
    }
  }
}
