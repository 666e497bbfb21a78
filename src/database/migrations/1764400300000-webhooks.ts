import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { bool, id, int, str, text, ts } from './schema.helpers';

// Webhook subscriptions, their deliveries (one per subscription and event) and each delivery's attempts (issue 8).
export class Webhooks1764400300000 implements MigrationInterface {
  name = 'Webhooks1764400300000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.createTable(
      new Table({
        name: 'webhook_subscriptions',
        columns: [
          id(),
          str('name', 200),
          str('url', 2000),
          str('format', 16),
          text('events'),
          text('environments', true),
          text('secret_enc'),
          bool('enabled', true),
          str('status', 16),
          str('status_reason', 500, true),
          ts(qr, 'status_changed_at', true),
          int('after_seq'),
          str('lease_owner', 36, true),
          ts(qr, 'lease_until', true),
          str('created_by', 80),
          ts(qr, 'created_at'),
          ts(qr, 'updated_at'),
        ],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'webhook_deliveries',
        columns: [
          id(),
          str('subscription_id', 36),
          str('event_id', 36),
          int('event_seq'),
          str('event_type', 100),
          str('status', 16),
          int('attempts', { default: 0 }),
          ts(qr, 'next_attempt_at', true),
          ts(qr, 'last_attempt_at', true),
          int('last_status_code', { nullable: true }),
          str('last_error', 500, true),
          ts(qr, 'created_at'),
          ts(qr, 'completed_at', true),
        ],
        foreignKeys: [
          {
            columnNames: ['subscription_id'],
            referencedTableName: 'webhook_subscriptions',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
        indices: [
          // Re-running an outbox batch after a crash never creates a second delivery of an event.
          { columnNames: ['subscription_id', 'event_id'], isUnique: true },
          { columnNames: ['subscription_id', 'status', 'event_seq'] },
        ],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'webhook_delivery_attempts',
        columns: [
          id(),
          str('delivery_id', 36),
          int('attempt'),
          ts(qr, 'at'),
          int('status_code', { nullable: true }),
          int('latency_ms'),
          str('error', 500, true),
          text('response_body', true),
        ],
        foreignKeys: [
          {
            columnNames: ['delivery_id'],
            referencedTableName: 'webhook_deliveries',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
        indices: [{ columnNames: ['delivery_id'] }],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'webhook_settings',
        columns: [id('name', 50), text('value'), str('updated_by', 80), ts(qr, 'updated_at')],
      }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const t of [
      'webhook_settings',
      'webhook_delivery_attempts',
      'webhook_deliveries',
      'webhook_subscriptions',
    ]) {
      await qr.dropTable(t);
    }
  }
}
