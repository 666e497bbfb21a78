import { Body, Controller, Get, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { Access, CurrentPrincipal } from '../common/auth.decorators';
import { actorId, Principal, READERS } from '../common/principal';
import { ENVIRONMENT_NAME_RE } from './environment-name';
import { EnvironmentsService } from './environments.service';

export class CreateEnvironmentDto {
  @ApiProperty({ pattern: ENVIRONMENT_NAME_RE.source })
  @Matches(ENVIRONMENT_NAME_RE, { message: 'must be 1-100 lower-case letters, digits, _ or -' })
  name!: string;

  @ApiProperty({ required: false, default: false })
  @IsOptional()
  @IsBoolean()
  requiresChangeRequest?: boolean;

  @ApiProperty({ required: false })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  sortOrder?: number;
}

export class UpdateEnvironmentDto {
  @ApiProperty({ required: false })
  @IsOptional()
  @IsBoolean()
  requiresChangeRequest?: boolean;

  @ApiProperty({ required: false })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  sortOrder?: number;
}

@ApiTags('environments')
@ApiBearerAuth()
@Controller('api/environments')
export class EnvironmentsController {
  constructor(private readonly environments: EnvironmentsService) {}

  @Get()
  @Access(...READERS)
  async list() {
    return { items: await this.environments.list() };
  }

  @Get(':name')
  @Access(...READERS)
  get(@Param('name') name: string) {
    return this.environments.get(name);
  }

  @Post()
  @Access('admin', 'token:admin')
  create(@CurrentPrincipal() p: Principal, @Body() dto: CreateEnvironmentDto) {
    return this.environments.create(actorId(p), dto);
  }

  @Patch(':name')
  @Access('admin', 'token:admin')
  update(@CurrentPrincipal() p: Principal, @Param('name') name: string, @Body() dto: UpdateEnvironmentDto) {
    return this.environments.update(actorId(p), name, dto);
  }
}
