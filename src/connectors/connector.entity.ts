import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ConnectorTable } from './data-connector.config';

/** A data connector to the platform's database. The URL (with its password) is sealed and never returned. */
@Entity('data_connectors')
export class DataConnectorEntity {
  @PrimaryColumn({ type: 'varchar', length: 100 })
  name!: string;

  @Column({ type: 'varchar', length: 20 })
  kind!: 'postgres';

  /** base64(iv | tag | AES-256-GCM(url)) under a key derived from WAVEGATE_SECRET. */
  @Column({ name: 'url_sealed', type: 'text' })
  urlSealed!: string;

  /** SHA-256 of the URL: shows that it changed without showing it. */
  @Column({ name: 'url_hash', type: 'varchar', length: 64 })
  urlHash!: string;

  @Column({ type: 'simple-json' })
  tables!: ConnectorTable[];

  /** Bumped on every change; part of the plans that use the connector. */
  @Column({ type: 'integer' })
  version!: number;

  /** Who proposed and who approved this version (a checker other than the proposer). */
  @Column({ name: 'proposed_by', type: 'varchar', length: 200 })
  proposedBy!: string;

  @Column({ name: 'approved_by', type: 'varchar', length: 200 })
  approvedBy!: string;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}

/**
 * A proposed connector configuration, waiting for a second person: it takes effect only when a checker who did not
 * propose it approves its `proposalHash` (a reviewed change, like a change request's plan hash).
 */
@Entity('data_connector_proposals')
export class DataConnectorProposalEntity {
  @PrimaryColumn({ type: 'varchar', length: 100 })
  name!: string;

  /** The whole spec (URL included), sealed like the connector's URL. */
  @Column({ name: 'spec_sealed', type: 'text' })
  specSealed!: string;

  /** SHA-256 of canonical {kind, tables, urlHash}: what an approval names. */
  @Column({ name: 'proposal_hash', type: 'varchar', length: 64 })
  proposalHash!: string;

  @Column({ name: 'proposed_by', type: 'varchar', length: 200 })
  proposedBy!: string;

  @Column({ name: 'proposed_at', type: Date })
  proposedAt!: Date;
}
