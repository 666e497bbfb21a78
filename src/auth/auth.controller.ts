import { Body, Controller, Get, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { Access, CurrentPrincipal, Public } from '../common/auth.decorators';
import { Principal, READERS } from '../common/principal';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { UserEntity } from '../users/user.entity';
import { AuthService } from './auth.service';
import { LoginDto } from './dto/login.dto';
import { LoginGuard } from './login.guard';
import { SESSION_COOKIE } from './strategies';

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  @UseGuards(ThrottlerGuard, LoginGuard)
  async login(
    @Body() _body: LoginDto,
    @Req() req: Request & { user: UserEntity },
    @Res({ passthrough: true }) res: Response,
  ) {
    const user = req.user;
    const { accessToken, expiresAt } = await this.auth.login(user);
    res.cookie(SESSION_COOKIE, accessToken, {
      httpOnly: true,
      sameSite: 'strict',
      secure: this.config.publicUrl.startsWith('https://'),
      path: '/',
      expires: expiresAt,
    });
    return {
      accessToken,
      expiresAt,
      user: { id: user.id, email: user.email, name: user.name, roles: user.roles },
    };
  }

  @ApiBearerAuth()
  @Get('me')
  @Access(...READERS, 'token:client')
  me(@CurrentPrincipal() p: Principal) {
    return p.kind === 'user'
      ? { kind: 'user', id: p.id, email: p.email, name: p.name, roles: p.roles }
      : { kind: 'token', id: p.id, name: p.name, tokenKind: p.tokenKind, environment: p.environment };
  }

  @ApiBearerAuth()
  @Post('logout')
  @HttpCode(204)
  @Access('viewer', 'maker', 'checker', 'admin')
  async logout(@CurrentPrincipal() p: Principal, @Res({ passthrough: true }) res: Response): Promise<void> {
    await this.auth.logout(p);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
  }
}
