import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';
import { str } from './schema.helpers';

// Signals name the environment they come from (ADR 0007): an SDK error report its client token's, a monitoring
// signal the `environment` field or label. Nullable: older signals, and signals that do not say, concern every
// environment.
export class SignalEnvironment1764400500000 implements MigrationInterface {
  name = 'SignalEnvironment1764400500000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.addColumn('signals', new TableColumn(str('environment', 100, true)));
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropColumn('signals', 'environment');
  }
}
