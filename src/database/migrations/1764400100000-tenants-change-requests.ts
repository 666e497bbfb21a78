import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { bool, id, int, str, text, ts } from './schema.helpers';

// Tenant inventory (apps, tenants, installations), change requests with their plan (one row per CR) and
// approvals, and the admin-set approval policies. See docs/decisions/0002-tenants-and-change-requests.md.
export class TenantsChangeRequests1764400100000 implements MigrationInterface {
  name = 'TenantsChangeRequests1764400100000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.createTable(
      new Table({
        name: 'apps',
        columns: [id('key', 64), str('name', 200), bool('legacy', false), ts(qr, 'created_at')],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'tenants',
        columns: [
          id('id', 128),
          str('name', 200),
          str('tier', 16),
          str('region', 64, true),
          text('attributes'),
          str('status', 16),
          ts(qr, 'soft_deleted_at', true),
          ts(qr, 'purge_after', true),
          ts(qr, 'created_at'),
          ts(qr, 'updated_at'),
        ],
      }),
    );
    await qr.createIndices('tenants', [
      new TableIndex({ columnNames: ['status'] }),
      new TableIndex({ columnNames: ['tier'] }),
      new TableIndex({ columnNames: ['region'] }),
    ]);
    await qr.createTable(
      new Table({
        name: 'installations',
        columns: [
          { ...str('tenant_id', 128), isPrimary: true },
          { ...str('app_key', 64), isPrimary: true },
          str('status', 16),
          text('data'),
          ts(qr, 'deactivated_at', true),
          ts(qr, 'created_at'),
          ts(qr, 'updated_at'),
        ],
        foreignKeys: [
          { columnNames: ['tenant_id'], referencedTableName: 'tenants', referencedColumnNames: ['id'] },
          { columnNames: ['app_key'], referencedTableName: 'apps', referencedColumnNames: ['key'] },
        ],
        indices: [{ columnNames: ['app_key'] }],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'change_requests',
        columns: [
          id(),
          str('title', 200),
          str('operation', 100),
          int('operation_version'),
          str('risk', 16),
          str('environment', 100, true),
          str('status', 20),
          str('author_id', 80),
          text('editor_ids'),
          int('revision'),
          str('plan_hash', 64),
          int('required_approvals'),
          text('approval_reasons'),
          int('target_count'),
          int('tenant_count'),
          text('request'),
          text('justification'),
          str('ticket', 200, true),
          ts(qr, 'scheduled_at', true),
          ts(qr, 'submitted_at', true),
          ts(qr, 'approved_at', true),
          int('pending_ttl_seconds'),
          int('start_window_seconds'),
          text('break_glass', true),
          text('status_reason', true),
          int('version'),
          ts(qr, 'created_at'),
          ts(qr, 'updated_at'),
        ],
      }),
    );
    await qr.createIndices('change_requests', [
      new TableIndex({ columnNames: ['status'] }),
      new TableIndex({ columnNames: ['author_id'] }),
      new TableIndex({ columnNames: ['created_at', 'id'] }),
    ]);
    await qr.createTable(
      new Table({
        name: 'change_request_plans',
        columns: [id('change_request_id'), int('revision'), str('plan_hash', 64), text('plan')],
        foreignKeys: [
          {
            columnNames: ['change_request_id'],
            referencedTableName: 'change_requests',
            referencedColumnNames: ['id'],
          },
        ],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'change_request_approvals',
        columns: [
          id(),
          str('change_request_id', 36),
          int('revision'),
          str('user_id', 80),
          str('plan_hash', 64),
          text('comment', true),
          ts(qr, 'at'),
        ],
        foreignKeys: [
          {
            columnNames: ['change_request_id'],
            referencedTableName: 'change_requests',
            referencedColumnNames: ['id'],
          },
        ],
        indices: [{ columnNames: ['change_request_id', 'revision', 'user_id'], isUnique: true }],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'approval_policies',
        columns: [
          { ...str('scope', 20), isPrimary: true },
          { ...str('key', 100), isPrimary: true },
          text('settings'),
          str('updated_by', 80),
          ts(qr, 'updated_at'),
        ],
      }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const t of [
      'approval_policies',
      'change_request_approvals',
      'change_request_plans',
      'change_requests',
      'installations',
      'tenants',
      'apps',
    ]) {
      await qr.dropTable(t);
    }
  }
}
