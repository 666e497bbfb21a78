import { ExecutionContext, Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { badRequest, DomainError, unauthorized } from '../common/errors';
import { LoginDto } from './dto/login.dto';

// Guards run before pipes: check the body's shape here so a malformed login is a 400 naming the field,
// not passport-local's generic 401.
@Injectable()
export class LoginGuard extends AuthGuard('local') {
  override async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const body: unknown = ctx.switchToHttp().getRequest<{ body: unknown }>().body;
    const dto = plainToInstance(LoginDto, typeof body === 'object' && body !== null ? body : {});
    const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length > 0) {
      throw badRequest(
        'VALIDATION.FAILED',
        errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join(', ')}`).join('; '),
        errors.map((e) => ({ field: e.property, reason: Object.values(e.constraints ?? {}).join(', ') })),
      );
    }
    return (await super.canActivate(ctx)) as boolean;
  }

  override handleRequest<T>(err: unknown, user: T | false): T {
    if (err instanceof DomainError) throw err;
    if (err || !user)
      throw unauthorized('AUTH.BAD_CREDENTIALS', 'Wrong email or password, or the user is disabled');
    return user;
  }
}
