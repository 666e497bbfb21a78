import { Body, Controller, Delete, Get, HttpCode, Post } from '@nestjs/common';
import { UuidParam } from '../common/params';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Access, CurrentPrincipal } from '../common/auth.decorators';
import { actorId, Principal } from '../common/principal';
import { CreateTokenDto } from './dto/login.dto';
import { TokensService } from './tokens.service';

@ApiTags('tokens')
@ApiBearerAuth()
@Controller('api/tokens')
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  @Post()
  @Access('admin', 'token:admin')
  create(@CurrentPrincipal() p: Principal, @Body() dto: CreateTokenDto) {
    return this.tokens.create(actorId(p), dto);
  }

  @Get()
  @Access('admin', 'token:admin')
  async list() {
    return { items: await this.tokens.list() };
  }

  @Delete(':id')
  @HttpCode(204)
  @Access('admin', 'token:admin')
  async revoke(@CurrentPrincipal() p: Principal, @UuidParam('id') id: string): Promise<void> {
    await this.tokens.revoke(actorId(p), id);
  }
}
