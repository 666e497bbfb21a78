import { Body, Controller, Get, Patch, Post } from '@nestjs/common';
import { UuidParam } from '../common/params';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Access, CurrentPrincipal } from '../common/auth.decorators';
import { actorId, Principal } from '../common/principal';
import { CreateUserDto, UpdateUserDto } from './dto/user.dto';
import { UsersService } from './users.service';

@ApiTags('users')
@ApiBearerAuth()
@Controller('api/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @Access('admin', 'token:admin')
  create(@CurrentPrincipal() p: Principal, @Body() dto: CreateUserDto) {
    return this.users.create(actorId(p), dto);
  }

  @Get()
  @Access('admin', 'token:admin')
  async list() {
    return { items: await this.users.list() };
  }

  @Get(':id')
  @Access('admin', 'token:admin')
  get(@UuidParam('id') id: string) {
    return this.users.get(id);
  }

  @Patch(':id')
  @Access('admin', 'token:admin')
  update(@CurrentPrincipal() p: Principal, @UuidParam('id') id: string, @Body() dto: UpdateUserDto) {
    return this.users.update(actorId(p), p.kind === 'user' ? p.id : null, id, dto);
  }
}
