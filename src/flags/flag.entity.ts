import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Constraint, FeatureDependency, Strategy, VariantDefinition } from './domain/flag.model';

@Entity('flags')
export class FlagEntity {
  @PrimaryColumn({ type: 'varchar', length: 100 })
  key!: string;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'varchar', length: 20 })
  type!: string;

  @Column({ type: 'simple-json' })
  tags!: string[];

  @Column({ name: 'impression_data', type: 'boolean', default: false })
  impressionData!: boolean;

  @Column({ type: 'simple-json' })
  dependencies!: FeatureDependency[];

  @Column({ type: 'boolean', default: false })
  archived!: boolean;

  @Column({ name: 'archived_at', type: Date, nullable: true })
  archivedAt!: Date | null;

  /** Grows with every change to the flag's own fields. */
  @Column({ type: 'integer' })
  version!: number;

  @Column({ name: 'created_by', type: 'varchar', length: 80 })
  createdBy!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}

// A flag's configuration in one environment: on/off, ordered strategies, variants (Unleash keeps variants per
// environment too).
@Entity('flag_environments')
export class FlagEnvironmentEntity {
  @PrimaryColumn({ name: 'flag_key', type: 'varchar', length: 100 })
  flagKey!: string;

  @PrimaryColumn({ type: 'varchar', length: 100 })
  environment!: string;

  @Column({ type: 'boolean', default: false })
  enabled!: boolean;

  @Column({ type: 'simple-json' })
  strategies!: Strategy[];

  @Column({ type: 'simple-json' })
  variants!: VariantDefinition[];

  /** Grows with every change; a `flag.update` plan records it and applying checks it (drift). */
  @Column({ type: 'integer' })
  version!: number;

  @Column({ name: 'updated_by', type: 'varchar', length: 80 })
  updatedBy!: string;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}

@Entity('segments')
export class SegmentEntity {
  @PrimaryColumn({ type: 'integer', generated: 'increment' })
  id!: number;

  @Column({ type: 'varchar', length: 100, unique: true })
  name!: string;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'simple-json' })
  constraints!: Constraint[];

  @Column({ type: 'integer' })
  version!: number;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
