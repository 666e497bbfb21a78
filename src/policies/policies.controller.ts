import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { Access, CurrentPrincipal } from '../common/auth.decorators';
import { actorId, Principal } from '../common/principal';
import { PoliciesService } from './policies.service';

@ApiTags('policies')
@ApiBearerAuth()
@Controller('api/policies')
export class PoliciesController {
  constructor(
    private readonly policies: PoliciesService,
    private readonly dataSource: DataSource,
  ) {}

  @Get()
  @Access('admin', 'token:admin')
  get() {
    return this.policies.view(this.dataSource.manager);
  }

  /** `{operations?: {name: override}, environments?: {name: override}, expiry?}`; each section given is replaced. */
  @Put()
  @Access('admin', 'token:admin')
  put(@CurrentPrincipal() p: Principal, @Body() body: unknown) {
    return this.policies.put(actorId(p), body);
  }
}
