import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { DataSource, IsNull } from 'typeorm';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { Clock } from '../common/clock';
import { unauthorized } from '../common/errors';
import { Principal } from '../common/principal';
import { TransactionRunner } from '../common/transaction';
import { UserEntity } from '../users/user.entity';
import { ApiTokenEntity } from './api-token.entity';
import { hashPassword, verifyPassword } from './password.hasher';
import { SessionEntity } from './session.entity';
import { hashApiToken } from './token.codec';

export interface JwtPayload {
  sub: string;
  sid: string;
}

const TOKEN_CACHE_MS = 10_000;
const LAST_USED_WRITE_MS = 5 * 60_000;

@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);
  // Flag clients authenticate on every request; the client API must not query the database per request.
  private readonly tokenCache = new Map<string, { principal: Principal | null; until: number }>();
  private dummyHash?: Promise<string>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly tx: TransactionRunner,
    private readonly jwt: JwtService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /** Checks email and password. The same work is done for an unknown email, so timing does not reveal accounts. */
  async validateCredentials(email: string, password: string): Promise<UserEntity | null> {
    const user = await this.dataSource
      .getRepository(UserEntity)
      .findOne({ where: { email: email.toLowerCase() } });
    if (!user) {
      this.dummyHash ??= hashPassword(randomUUID());
      await verifyPassword(await this.dummyHash, password);
      return null;
    }
    if (!(await verifyPassword(user.passwordHash, password))) return null;
    if (user.disabled) return null;
    return user;
  }

  async login(user: UserEntity): Promise<{ accessToken: string; expiresAt: Date }> {
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.config.sessionTtlSeconds * 1000);
    const sid = randomUUID();
    await this.tx.run(async (tx) => {
      await tx.manager.insert(SessionEntity, {
        id: sid,
        userId: user.id,
        createdAt: now,
        expiresAt,
        revokedAt: null,
      });
      tx.audit({
        actor: `user:${user.id}`,
        action: 'auth.login',
        entityType: 'user',
        entityId: user.id,
        data: { sessionId: sid },
      });
    });
    const payload: JwtPayload = { sub: user.id, sid };
    const accessToken = await this.jwt.signAsync(payload, { expiresIn: this.config.sessionTtlSeconds });
    return { accessToken, expiresAt };
  }

  async logout(principal: Principal): Promise<void> {
    if (principal.kind !== 'user' || !principal.sessionId) return;
    const sid = principal.sessionId;
    await this.tx.run(async (tx) => {
      await tx.manager.update(SessionEntity, { id: sid, revokedAt: IsNull() }, { revokedAt: tx.now });
      tx.audit({
        actor: `user:${principal.id}`,
        action: 'auth.logout',
        entityType: 'user',
        entityId: principal.id,
        data: { sessionId: sid },
      });
    });
  }

  /** A verified JWT becomes a principal only while its session is open and its user enabled. */
  async principalFromJwt(payload: JwtPayload): Promise<Principal> {
    const session = await this.dataSource
      .getRepository(SessionEntity)
      .findOne({ where: { id: payload.sid } });
    if (
      !session ||
      session.revokedAt ||
      session.expiresAt.getTime() <= this.clock.now().getTime() ||
      session.userId !== payload.sub
    ) {
      throw unauthorized('AUTH.SESSION_ENDED', 'The session has ended; sign in again');
    }
    const user = await this.dataSource.getRepository(UserEntity).findOne({ where: { id: payload.sub } });
    if (!user || user.disabled) throw unauthorized('AUTH.USER_DISABLED', 'The user is disabled');
    return {
      kind: 'user',
      id: user.id,
      email: user.email,
      name: user.name,
      roles: user.roles,
      sessionId: session.id,
    };
  }

  async principalFromApiToken(token: string): Promise<Principal> {
    const hash = hashApiToken(token);
    const now = Date.now();
    const cached = this.tokenCache.get(hash);
    if (cached && cached.until > now) {
      if (!cached.principal) throw unauthorized('AUTH.BAD_TOKEN', 'Unknown or revoked API token');
      return cached.principal;
    }
    const row = await this.dataSource.getRepository(ApiTokenEntity).findOne({ where: { tokenHash: hash } });
    const principal: Principal | null =
      row && !row.revokedAt
        ? {
            kind: 'token',
            id: row.id,
            name: row.name,
            tokenKind: row.kind,
            environment: row.environment,
            createdBy: row.createdBy,
          }
        : null;
    if (this.tokenCache.size > 10_000) this.tokenCache.clear();
    this.tokenCache.set(hash, { principal, until: now + TOKEN_CACHE_MS });
    if (!principal || !row) throw unauthorized('AUTH.BAD_TOKEN', 'Unknown or revoked API token');
    if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > LAST_USED_WRITE_MS) {
      this.tx
        .run((tx) => tx.manager.update(ApiTokenEntity, { id: row.id }, { lastUsedAt: tx.now }))
        .catch((e: unknown) => this.logger.warn(`could not record token use: ${String(e)}`));
    }
    return principal;
  }

  /** Called when a token is revoked, so that this process refuses it at once. */
  forgetToken(tokenHash: string): void {
    this.tokenCache.delete(tokenHash);
  }
}
