// The `http` operation's allowlist: the URL prefixes it may call (ADR 0005). The operation checks it before every
// call; admins manage it through `PUT /api/operations/http/allowlist` (rollouts/http-allowlist.controller.ts).
import { Column, Entity, PrimaryColumn } from 'typeorm';

/** URL prefixes the `http` operation may call; managed by admins. */
@Entity('http_allowlist')
export class HttpAllowlistEntity {
  @PrimaryColumn({ type: 'varchar', length: 500 })
  prefix!: string;

  @Column({ name: 'created_by', type: 'varchar', length: 80 })
  createdBy!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
