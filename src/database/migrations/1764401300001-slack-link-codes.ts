import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';
import { id, str, ts } from './schema.helpers';

// Approve from Slack (issue 15, ADR 0017): the one-time codes a signed-in person creates to link their Slack user
// (stored as a SHA-256, short-lived, one per person), and the Slack names shown beside a link (ids alone mean little).
// slack_links itself was created by 1764401300000, which is never edited.
export class SlackLinkCodes1764401300001 implements MigrationInterface {
  name = 'SlackLinkCodes1764401300001';

  async up(qr: QueryRunner): Promise<void> {
    await qr.createTable(
      new Table({
        name: 'slack_link_codes',
        columns: [
          id(),
          str('user_id', 36),
          str('code_sha256', 64),
          ts(qr, 'expires_at'),
          ts(qr, 'created_at'),
        ],
        indices: [
          new TableIndex({ name: 'uq_slack_link_codes_hash', columnNames: ['code_sha256'], isUnique: true }),
          new TableIndex({ name: 'uq_slack_link_codes_user', columnNames: ['user_id'], isUnique: true }),
        ],
      }),
    );
    await qr.addColumns('slack_links', [
      new TableColumn(str('slack_team_domain', 100, true)),
      new TableColumn(str('slack_user_name', 100, true)),
    ]);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropColumn('slack_links', 'slack_user_name');
    await qr.dropColumn('slack_links', 'slack_team_domain');
    await qr.dropTable('slack_link_codes');
  }
}
