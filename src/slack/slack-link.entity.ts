import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A Slack user linked once, by that person, to their Wavegate user (issue 15): Slack buttons act as this user. */
@Entity('slack_links')
export class SlackLinkEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'slack_team_id', type: 'varchar', length: 32 })
  slackTeamId!: string;

  @Column({ name: 'slack_user_id', type: 'varchar', length: 32 })
  slackUserId!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
