import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { id, int, str, text, ts } from './schema.helpers';

// Wave engine (rollouts, waves, per-target executions with the lease), signals, per-tenant encrypted snapshots,
// tenant data keys, erasure receipts and the http operation's allowlist. See docs/decisions/0005-wave-engine.md.
export class Rollouts1764400400000 implements MigrationInterface {
  name = 'Rollouts1764400400000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.createTable(
      new Table({
        name: 'rollouts',
        columns: [
          id('change_request_id'),
          int('revision'),
          str('operation', 100),
          text('params'),
          text('halt_policy'),
          str('phase', 10),
          int('bake_seconds'),
          ts(qr, 'next_wave_at', true),
          str('lease_owner', 100, true),
          ts(qr, 'lease_until', true),
          text('acknowledged', true),
          str('halt_rule', 40, true),
          text('halt_reason', true),
          ts(qr, 'started_at'),
          ts(qr, 'finished_at', true),
        ],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'rollout_waves',
        columns: [
          id('id', 60),
          str('change_request_id', 36),
          str('phase', 10),
          int('wave_index'),
          int('size'),
          str('status', 16),
          ts(qr, 'started_at', true),
          ts(qr, 'finished_at', true),
        ],
        indices: [{ columnNames: ['change_request_id', 'phase', 'wave_index'], isUnique: true }],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'rollout_targets',
        columns: [
          id(),
          str('change_request_id', 36),
          str('phase', 10),
          int('wave_index'),
          int('position'),
          str('target_type', 20),
          str('target_id', 200),
          str('tenant_id', 128),
          text('planned'),
          str('status', 16),
          int('attempts'),
          text('error', true),
          str('idempotency_key', 300),
          str('snapshot_id', 36, true),
          ts(qr, 'started_at', true),
          ts(qr, 'finished_at', true),
        ],
        indices: [
          { columnNames: ['idempotency_key'], isUnique: true },
          { columnNames: ['change_request_id', 'phase', 'wave_index', 'status'] },
          { columnNames: ['change_request_id', 'status'] },
        ],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'signals',
        columns: [
          id(),
          str('source', 100),
          str('severity', 16),
          str('state', 16),
          str('tenant_id', 128, true),
          str('change_request_id', 36, true),
          str('flag_key', 200, true),
          text('message'),
          int('count'),
          ts(qr, 'at'),
          str('recorded_by', 80),
        ],
      }),
    );
    await qr.createIndices('signals', [
      new TableIndex({ columnNames: ['change_request_id', 'at'] }),
      new TableIndex({ columnNames: ['tenant_id', 'at'] }),
      new TableIndex({ columnNames: ['at'] }),
    ]);
    await qr.createTable(
      new Table({
        name: 'tenant_snapshots',
        columns: [
          id(),
          str('tenant_id', 128),
          str('change_request_id', 36, true),
          str('reason', 100),
          str('hash', 64),
          text('sealed'),
          ts(qr, 'created_at'),
        ],
        indices: [{ columnNames: ['tenant_id', 'created_at'] }],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'tenant_keys',
        columns: [
          id('tenant_id', 128),
          text('wrapped_key', true),
          ts(qr, 'created_at'),
          ts(qr, 'destroyed_at', true),
        ],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'erasure_receipts',
        columns: [id('tenant_id', 128), str('change_request_id', 36), text('receipt'), ts(qr, 'created_at')],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'http_allowlist',
        columns: [id('prefix', 500), str('created_by', 80), ts(qr, 'created_at')],
      }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const t of [
      'http_allowlist',
      'erasure_receipts',
      'tenant_keys',
      'tenant_snapshots',
      'signals',
      'rollout_targets',
      'rollout_waves',
      'rollouts',
    ]) {
      await qr.dropTable(t);
    }
  }
}
