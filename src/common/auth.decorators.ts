import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { AccessRule, Principal } from './principal';

export const IS_PUBLIC = 'wavegate:public';
export const ACCESS_RULES = 'wavegate:access';

/** Reachable without an identity: login, health, the OpenAPI page. Nothing else. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** Who may call this route; declared next to every route. A route without it is refused to everyone. */
export const Access = (...rules: AccessRule[]) => SetMetadata(ACCESS_RULES, rules);

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const req = ctx.switchToHttp().getRequest<{ user?: Principal }>();
  if (!req.user) throw new Error('CurrentPrincipal used on a public route');
  return req.user;
});
