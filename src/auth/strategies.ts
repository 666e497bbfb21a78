import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { Strategy as LocalStrategy } from 'passport-local';
import { Inject } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { unauthorized } from '../common/errors';
import { Principal } from '../common/principal';
import { UserEntity } from '../users/user.entity';
import { AuthService, JwtPayload } from './auth.service';
import { deriveKey } from './token.codec';

export const SESSION_COOKIE = 'wavegate_session';
const API_TOKEN_RE = /^wg[acu]_[A-Za-z0-9_-]{43}$/;

const fromCookie = (req: Request): string | null => {
  const v = (req.cookies as Record<string, string> | undefined)?.[SESSION_COOKIE];
  return typeof v === 'string' && v.length > 0 ? v : null;
};

const bearerJwt = (req: Request): string | null => {
  const t = ExtractJwt.fromAuthHeaderAsBearerToken()(req);
  // API tokens also arrive as bearer tokens; they are the api-token strategy's.
  return t && !API_TOKEN_RE.test(t) ? t : null;
};

@Injectable()
export class PasswordStrategy extends PassportStrategy(LocalStrategy, 'local') {
  constructor(private readonly auth: AuthService) {
    super({ usernameField: 'email', passwordField: 'password' });
  }

  async validate(email: string, password: string): Promise<UserEntity> {
    const user = await this.auth.validateCredentials(email, password);
    if (!user) throw unauthorized('AUTH.BAD_CREDENTIALS', 'Wrong email or password, or the user is disabled');
    return user;
  }
}

@Injectable()
export class SessionJwtStrategy extends PassportStrategy(JwtStrategy, 'jwt') {
  constructor(
    private readonly auth: AuthService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromExtractors([bearerJwt, fromCookie]),
      secretOrKey: deriveKey(config.secret, 'jwt').toString('base64'),
      algorithms: ['HS256'],
      ignoreExpiration: false,
    });
  }

  validate(payload: JwtPayload): Promise<Principal> {
    return this.auth.principalFromJwt(payload);
  }
}

@Injectable()
export class ApiTokenStrategy extends PassportStrategy(BearerStrategy, 'api-token') {
  constructor(private readonly auth: AuthService) {
    super();
  }

  async validate(token: string): Promise<Principal | false> {
    if (!API_TOKEN_RE.test(token)) return false;
    return this.auth.principalFromApiToken(token);
  }
}
