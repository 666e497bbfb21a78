import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { notFound, unprocessable } from '../common/errors';
import { TokenKind } from '../common/principal';
import { TransactionRunner } from '../common/transaction';
import { ApiTokenEntity } from './api-token.entity';
import { AuthService } from './auth.service';
import { generateApiToken } from './token.codec';

export interface PublicToken {
  id: string;
  name: string;
  kind: TokenKind;
  environment: string | null;
  prefix: string;
  createdBy: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const toPublic = (t: ApiTokenEntity): PublicToken => ({
  id: t.id,
  name: t.name,
  kind: t.kind,
  environment: t.environment,
  prefix: t.prefix,
  createdBy: t.createdBy,
  createdAt: t.createdAt,
  lastUsedAt: t.lastUsedAt,
  revokedAt: t.revokedAt,
});

@Injectable()
export class TokensService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tx: TransactionRunner,
    private readonly auth: AuthService,
  ) {}

  /** Returns the token once; only its hash is kept. */
  async create(actor: string, input: { name: string; kind: TokenKind; environment?: string }) {
    if (input.kind === 'client' && !input.environment) {
      throw unprocessable(
        'TOKEN.ENVIRONMENT_REQUIRED',
        'environment: a client token reads the flags of one environment',
        [{ field: 'environment', reason: 'required for client tokens' }],
      );
    }
    if (input.kind !== 'client' && input.environment) {
      throw unprocessable(
        'TOKEN.ENVIRONMENT_NOT_ALLOWED',
        'environment: only client tokens are bound to an environment',
        [{ field: 'environment', reason: 'only for client tokens' }],
      );
    }
    const { token, hash, prefix } = generateApiToken(input.kind);
    return this.tx.run(async (tx) => {
      const row = Object.assign(new ApiTokenEntity(), {
        id: randomUUID(),
        name: input.name.trim(),
        kind: input.kind,
        environment: input.environment ?? null,
        tokenHash: hash,
        prefix,
        createdBy: actor,
        createdAt: tx.now,
        lastUsedAt: null,
        revokedAt: null,
      });
      await tx.manager.insert(ApiTokenEntity, row);
      const data = { kind: row.kind, environment: row.environment };
      tx.audit({ actor, action: 'token.created', entityType: 'token', entityId: row.id, data });
      tx.emit({ type: 'token.created', entityType: 'token', entityId: row.id, actor, data });
      return { ...toPublic(row), token };
    });
  }

  async list(): Promise<PublicToken[]> {
    const rows = await this.dataSource
      .getRepository(ApiTokenEntity)
      .find({ order: { createdAt: 'DESC', id: 'ASC' } });
    return rows.map(toPublic);
  }

  async revoke(actor: string, id: string): Promise<void> {
    const hash = await this.tx.run(async (tx) => {
      const row = await tx.manager.findOne(ApiTokenEntity, { where: { id } });
      if (!row) throw notFound('TOKEN.NOT_FOUND', `No token ${id}`);
      if (!row.revokedAt) {
        await tx.manager.update(ApiTokenEntity, { id }, { revokedAt: tx.now });
        tx.audit({ actor, action: 'token.revoked', entityType: 'token', entityId: id });
        tx.emit({ type: 'token.revoked', entityType: 'token', entityId: id, actor });
      }
      return row.tokenHash;
    });
    this.auth.forgetToken(hash);
  }
}
