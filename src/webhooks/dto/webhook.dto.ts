import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { EVENT_PATTERN_RE } from '../domain/event-filter';
import type { DeliveryStatus, WebhookFormat } from '../webhook.entity';

const FORMATS: WebhookFormat[] = ['slack', 'json'];
const ENV_RE = /^[a-z0-9][a-z0-9_-]{0,99}$/;
const EVENT_MESSAGE =
  'each event must be an event type (change_request.approved), a prefix (change_request.*) or *';

export class CreateWebhookDto {
  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @ApiProperty({ description: 'http(s) URL; its host must be allowed by the webhook allowlist' })
  @IsString()
  @MaxLength(2000)
  url!: string;

  @ApiProperty({ enum: FORMATS })
  @IsIn(FORMATS)
  format!: WebhookFormat;

  @ApiProperty({ type: [String], example: ['change_request.*'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(EVENT_PATTERN_RE, { each: true, message: EVENT_MESSAGE })
  events!: string[];

  @ApiPropertyOptional({
    type: [String],
    description: 'only events of these environments (halts and break-glass always pass)',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(ENV_RE, { each: true, message: 'each environment must be an environment key' })
  environments?: string[];

  @ApiPropertyOptional({
    description: 'signing secret; generated when absent; returned only in this response',
  })
  @IsOptional()
  @IsString()
  @MinLength(16)
  @MaxLength(200)
  secret?: string;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  url?: string;

  @ApiPropertyOptional({ enum: FORMATS })
  @IsOptional()
  @IsIn(FORMATS)
  format?: WebhookFormat;

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(EVENT_PATTERN_RE, { each: true, message: EVENT_MESSAGE })
  events?: string[];

  @ApiPropertyOptional({ type: [String], nullable: true, description: 'null or [] for every environment' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(ENV_RE, { each: true, message: 'each environment must be an environment key' })
  environments?: string[] | null;

  @ApiPropertyOptional({ description: 'rotates the signing secret (never returned)' })
  @IsOptional()
  @IsString()
  @MinLength(16)
  @MaxLength(200)
  secret?: string;

  @ApiPropertyOptional({ description: 'true also clears a failing or 410-disabled state' })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

export class AllowlistDto {
  @ApiProperty({ type: [String], example: ['hooks.slack.com', '*.corp.example'] })
  @IsArray()
  @ArrayMaxSize(200)
  @ArrayUnique()
  @IsString({ each: true })
  @MaxLength(253, { each: true })
  hosts!: string[];

  @ApiProperty({ type: [String], example: ['127.0.0.1/32', '10.20.0.0/16'] })
  @IsArray()
  @ArrayMaxSize(200)
  @ArrayUnique()
  @IsString({ each: true })
  @MaxLength(60, { each: true })
  networks!: string[];

  @ApiPropertyOptional({ default: true, description: 'allow public addresses that are not listed' })
  @IsOptional()
  @IsBoolean()
  allowPublic?: boolean;
}

const DELIVERY_STATUSES: DeliveryStatus[] = ['pending', 'succeeded', 'failed'];

export class DeliveriesQueryDto {
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}
