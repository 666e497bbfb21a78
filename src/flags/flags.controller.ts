import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseIntPipe,
  Patch,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Access, CurrentPrincipal } from '../common/auth.decorators';
import { Clock } from '../common/clock';
import { badRequest } from '../common/errors';
import { actorId, AccessRule, Principal, READERS } from '../common/principal';
import {
  CreateFlagDto,
  FlagEnvironmentDto,
  FlagMetricsQueryDto,
  ListFlagsQueryDto,
  SegmentDto,
  UpdateFlagDto,
} from './dto/flag.dto';
import { FlagMetricsService } from './flag-metrics.service';
import { FlagsService } from './flags.service';
import { SegmentsService } from './segments.service';

export const FLAG_WRITERS: AccessRule[] = ['maker', 'admin', 'token:admin', 'token:automation'];

@ApiTags('flags')
@ApiBearerAuth()
@Controller('api/flags')
export class FlagsController {
  constructor(
    private readonly flags: FlagsService,
    private readonly metrics: FlagMetricsService,
    private readonly clock: Clock,
  ) {}

  @Get()
  @Access(...READERS)
  list(@Query() q: ListFlagsQueryDto) {
    return this.flags.list(q);
  }

  @Post()
  @Access(...FLAG_WRITERS)
  create(@CurrentPrincipal() p: Principal, @Body() dto: CreateFlagDto) {
    return this.flags.create(actorId(p), dto);
  }

  @Get(':key')
  @Access(...READERS)
  get(@Param('key') key: string) {
    return this.flags.get(key);
  }

  @Patch(':key')
  @Access(...FLAG_WRITERS)
  update(@CurrentPrincipal() p: Principal, @Param('key') key: string, @Body() dto: UpdateFlagDto) {
    return this.flags.update(actorId(p), key, dto);
  }

  /** 200 with the new configuration, or 202 with the `flag.update` change request where the environment needs one. */
  @Put(':key/environments/:env')
  @Access(...FLAG_WRITERS)
  async putEnvironment(
    @CurrentPrincipal() p: Principal,
    @Param('key') key: string,
    @Param('env') env: string,
    @Body() dto: FlagEnvironmentDto,
    @Res({ passthrough: true }) res: Response,
  ) {
    const result = await this.flags.putEnvironment(p, key, env, dto);
    res.status(result.status);
    return result.status === 200 ? result.environment : { changeRequest: result.changeRequest };
  }

  @Get(':key/metrics')
  @Access(...READERS)
  flagMetrics(@Param('key') key: string, @Query() q: FlagMetricsQueryDto) {
    return this.metrics.flagMetrics(key, q, this.clock.now());
  }
}

const segmentId = () =>
  new ParseIntPipe({
    exceptionFactory: () =>
      badRequest('VALIDATION.BAD_ID', 'id: must be an integer', [
        { field: 'id', reason: 'must be an integer' },
      ]),
  });

@ApiTags('segments')
@ApiBearerAuth()
@Controller('api/segments')
export class SegmentsController {
  constructor(private readonly segments: SegmentsService) {}

  @Get()
  @Access(...READERS)
  async list() {
    return { items: await this.segments.list() };
  }

  @Post()
  @Access(...FLAG_WRITERS)
  create(@CurrentPrincipal() p: Principal, @Body() dto: SegmentDto) {
    return this.segments.create(actorId(p), dto);
  }

  @Get(':id')
  @Access(...READERS)
  get(@Param('id', segmentId()) id: number) {
    return this.segments.get(id);
  }

  @Put(':id')
  @Access(...FLAG_WRITERS)
  update(@CurrentPrincipal() p: Principal, @Param('id', segmentId()) id: number, @Body() dto: SegmentDto) {
    return this.segments.update(actorId(p), id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @Access(...FLAG_WRITERS)
  async remove(@CurrentPrincipal() p: Principal, @Param('id', segmentId()) id: number): Promise<void> {
    await this.segments.remove(actorId(p), id);
  }
}
