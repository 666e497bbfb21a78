import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { Access } from '../common/auth.decorators';
import { READERS } from '../common/principal';
import { EventsService } from './events.service';

export class FeedQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) after?: string;
  @ApiPropertyOptional() @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit?: number;
}

@ApiTags('events')
@ApiBearerAuth()
@Controller('api/events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  /** The ordered change feed. Pass `nextCursor` back as `after` to continue. */
  @Get()
  @Access(...READERS)
  feed(@Query() q: FeedQueryDto) {
    return this.events.feed(q.after, q.limit ?? 100);
  }
}
