import { Column, Entity, PrimaryColumn } from 'typeorm';
import { TokenKind } from '../common/principal';

@Entity('api_tokens')
export class ApiTokenEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: TokenKind;

  /** For `client` tokens: the one environment whose flags the token reads. */
  @Column({ type: 'varchar', length: 100, nullable: true })
  environment!: string | null;

  /** SHA-256 of the token (tokens are 256-bit random, so a fast hash is enough). The token itself is never stored. */
  @Column({ name: 'token_hash', type: 'varchar', length: 64, unique: true })
  tokenHash!: string;

  /** First characters of the token, shown in lists so people can tell tokens apart. */
  @Column({ type: 'varchar', length: 16 })
  prefix!: string;

  @Column({ name: 'created_by', type: 'varchar', length: 80 })
  createdBy!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'last_used_at', type: Date, nullable: true })
  lastUsedAt!: Date | null;

  @Column({ name: 'revoked_at', type: Date, nullable: true })
  revokedAt!: Date | null;
}
