import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A Slack user linked once, by that person, to their Wavegate user (issue 15, ADR 0017): Slack's Approve and Reject
 * buttons act as this user. One link per Wavegate user and one per Slack user (unique indexes).
 */
@Entity('slack_links')
export class SlackLinkEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'slack_team_id', type: 'varchar', length: 32 })
  slackTeamId!: string;

  @Column({ name: 'slack_user_id', type: 'varchar', length: 32 })
  slackUserId!: string;

  /** The workspace's subdomain when the link was made, for showing only. */
  @Column({ name: 'slack_team_domain', type: 'varchar', length: 100, nullable: true })
  slackTeamDomain!: string | null;

  /** The Slack user name when the link was made, for showing only (Slack ids decide). */
  @Column({ name: 'slack_user_name', type: 'varchar', length: 100, nullable: true })
  slackUserName!: string | null;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}

/** A one-time link code a signed-in person created, as its SHA-256 only; at most one per person, short-lived. */
@Entity('slack_link_codes')
export class SlackLinkCodeEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @Column({ name: 'code_sha256', type: 'varchar', length: 64 })
  codeSha256!: string;

  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
