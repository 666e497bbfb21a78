import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { ACCESS_RULES, IS_PUBLIC } from '../common/auth.decorators';
import { DomainError, forbidden, unauthorized } from '../common/errors';
import { AccessRule, matchesRule, Principal } from '../common/principal';

/**
 * The global guard: every route needs an identity (a session JWT from the header or cookie, or an API token)
 * unless it is @Public(), and the identity must match one of the route's @Access() rules. A route that
 * declares no rules is refused to everyone, so a forgotten declaration fails closed.
 */
@Injectable()
export class AccessGuard extends AuthGuard(['jwt', 'api-token']) {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    await super.canActivate(ctx);
    const principal = ctx.switchToHttp().getRequest<{ user: Principal }>().user;
    const rules = this.reflector.getAllAndOverride<AccessRule[] | undefined>(ACCESS_RULES, targets) ?? [];
    if (!rules.some((r) => matchesRule(principal, r))) {
      throw forbidden('AUTH.FORBIDDEN', `This route needs one of: ${rules.join(', ') || '(nobody)'}`);
    }
    return true;
  }

  // Passport reports failures through here; keep our typed errors, map the rest to a 401.
  override handleRequest<T>(err: unknown, user: T | false): T {
    if (err instanceof DomainError) throw err;
    if (err || !user) throw unauthorized('AUTH.REQUIRED', 'Sign in, or send a valid bearer token');
    return user;
  }
}
