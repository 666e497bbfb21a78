import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A comment on a change request (issue 15). Never part of the plan: writing one changes no plan and no hash. */
@Entity('change_request_comments')
export class ChangeRequestCommentEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'change_request_id', type: 'varchar', length: 36 })
  changeRequestId!: string;

  /** Actor id (`user:<uuid>`). */
  @Column({ type: 'varchar', length: 80 })
  author!: string;

  @Column({ type: 'text' })
  body!: string;

  /** Plain user ids of the people the body mentions. */
  @Column({ type: 'simple-json' })
  mentions!: string[];

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
