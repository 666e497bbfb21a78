import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { id, int, str, text, ts } from './schema.helpers';

// Operation providers (issue 14): registered providers, their sealed shared secrets, and which tenants each
// provider's inventory brought in (with removals marked, never applied). See docs/decisions/0016-operation-providers.md.
export class Providers1764401000000 implements MigrationInterface {
  name = 'Providers1764401000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.createTable(
      new Table({
        name: 'providers',
        columns: [
          id('name', 40),
          int('version'),
          text('definition'),
          str('secret_id', 36),
          ts(qr, 'inventory_synced_at', true),
          text('inventory_error', true),
          str('change_request_id', 36),
          ts(qr, 'created_at'),
          ts(qr, 'updated_at'),
        ],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'provider_secrets',
        columns: [id(), str('provider', 40), text('sealed'), ts(qr, 'created_at')],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'provider_tenants',
        columns: [
          { ...str('provider', 40), isPrimary: true },
          { ...str('tenant_id', 128), isPrimary: true },
          ts(qr, 'missing_since', true),
          text('missing_installations'),
          ts(qr, 'last_seen_at'),
        ],
      }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropTable('provider_tenants');
    await qr.dropTable('provider_secrets');
    await qr.dropTable('providers');
  }
}
