import { Column, Entity, PrimaryColumn } from 'typeorm';

export type PolicyScope = 'operation' | 'environment' | 'expiry';

/** An admin's override of the approval defaults for one operation or one environment, or the expiry settings. */
@Entity('approval_policies')
export class ApprovalPolicyEntity {
  @PrimaryColumn({ type: 'varchar', length: 20 })
  scope!: PolicyScope;

  @PrimaryColumn({ type: 'varchar', length: 100 })
  key!: string;

  @Column({ type: 'simple-json' })
  settings!: Record<string, number>;

  @Column({ name: 'updated_by', type: 'varchar', length: 80 })
  updatedBy!: string;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
