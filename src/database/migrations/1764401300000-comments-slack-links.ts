import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { id, str, text, ts } from './schema.helpers';

// Issue 15: comments on a change request (with the users they mention), and the link a person makes once between
// their Slack user and their Wavegate user so that Slack's Approve / Reject buttons act as them.
export class CommentsSlackLinks1764401300000 implements MigrationInterface {
  name = 'CommentsSlackLinks1764401300000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.createTable(
      new Table({
        name: 'change_request_comments',
        columns: [
          id(),
          str('change_request_id', 36),
          str('author', 80),
          text('body'),
          text('mentions'),
          ts(qr, 'created_at'),
        ],
        indices: [
          new TableIndex({ name: 'idx_cr_comments_cr', columnNames: ['change_request_id', 'created_at'] }),
        ],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'slack_links',
        columns: [
          id(),
          str('slack_team_id', 32),
          str('slack_user_id', 32),
          str('user_id', 36),
          ts(qr, 'created_at'),
        ],
        indices: [
          new TableIndex({
            name: 'uq_slack_links_slack_user',
            columnNames: ['slack_team_id', 'slack_user_id'],
            isUnique: true,
          }),
          new TableIndex({ name: 'uq_slack_links_user', columnNames: ['user_id'], isUnique: true }),
        ],
      }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropTable('slack_links');
    await qr.dropTable('change_request_comments');
  }
}
