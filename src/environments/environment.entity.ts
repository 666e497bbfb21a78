import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('environments')
export class EnvironmentEntity {
  @PrimaryColumn({ type: 'varchar', length: 100 })
  name!: string;

  /** Flag changes in this environment open a `flag.update` change request instead of applying at once. */
  @Column({ name: 'requires_change_request', type: 'boolean', default: false })
  requiresChangeRequest!: boolean;

  @Column({ name: 'sort_order', type: 'integer', default: 0 })
  sortOrder!: number;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
