import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { FLAG_KEY_RE, FLAG_TYPES, FlagType } from '../domain/flag.model';

// Top-level shapes only: strategies, constraints and variants are checked by domain/flag-config.validator.ts,
// which names nested fields the way the API documents them (`strategies[0].constraints[1].operator`).

export class FlagDependencyDto {
  @ApiProperty()
  feature!: string;
  @ApiProperty({ required: false })
  enabled?: boolean;
  @ApiProperty({ required: false, type: [String] })
  variants?: string[];
}

export class FlagEnvironmentDto {
  @ApiProperty({ required: false })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiProperty({
    required: false,
    description:
      'Ordered strategies: {name, parameters, constraints, segments, variants}; omitted = unchanged',
    type: 'array',
    items: { type: 'object' },
  })
  @IsOptional()
  @IsArray()
  strategies?: unknown[];

  @ApiProperty({
    required: false,
    description:
      'Flag variants: {name, weight, weightType, stickiness, payload, overrides}; omitted = unchanged',
    type: 'array',
    items: { type: 'object' },
  })
  @IsOptional()
  @IsArray()
  variants?: unknown[];

  @ApiProperty({
    required: false,
    description: 'Refuse the change (409) unless the environment is at this version',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  expectedVersion?: number;

  @ApiProperty({ required: false, description: 'Where a change request is needed: its justification' })
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  justification?: string;

  @ApiProperty({ required: false, description: 'Where a change request is needed: a ticket reference' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  ticket?: string;
}

export class CreateFlagDto {
  @ApiProperty({ pattern: FLAG_KEY_RE.source })
  @Matches(FLAG_KEY_RE, { message: 'must match [a-z0-9][a-z0-9._-]{0,99}' })
  key!: string;

  @ApiProperty({ required: false })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;

  @ApiProperty({ required: false, enum: FLAG_TYPES, default: 'release' })
  @IsOptional()
  @IsIn(FLAG_TYPES)
  type?: FlagType;

  @ApiProperty({ required: false, type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(100, { each: true })
  tags?: string[];

  @ApiProperty({ required: false })
  @IsOptional()
  @IsBoolean()
  impressionData?: boolean;

  @ApiProperty({ required: false, type: [FlagDependencyDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  dependencies?: unknown[];

  @ApiProperty({
    required: false,
    description:
      'Initial configuration per environment (only environments that do not require change requests)',
    additionalProperties: { $ref: '#/components/schemas/FlagEnvironmentDto' },
  })
  @IsOptional()
  @IsObject()
  environments?: Record<string, unknown>;
}

export class UpdateFlagDto {
  @ApiProperty({ required: false })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;

  @ApiProperty({ required: false, enum: FLAG_TYPES })
  @IsOptional()
  @IsIn(FLAG_TYPES)
  type?: FlagType;

  @ApiProperty({ required: false, type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(100, { each: true })
  tags?: string[];

  @ApiProperty({ required: false })
  @IsOptional()
  @IsBoolean()
  impressionData?: boolean;

  @ApiProperty({ required: false, type: [FlagDependencyDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  dependencies?: unknown[];

  @ApiProperty({ required: false })
  @IsOptional()
  @IsBoolean()
  archived?: boolean;
}

export class ListFlagsQueryDto {
  @IsOptional() @IsString() @MaxLength(100) q?: string;
  @IsOptional() @IsString() @MaxLength(100) tag?: string;
  @IsOptional() @IsIn(['true', 'false']) archived?: 'true' | 'false';
  @IsOptional() @IsString() @MaxLength(200) cursor?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit?: number;
}

export class FlagMetricsQueryDto {
  @IsOptional() @IsString() @MaxLength(100) environment?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(24 * 90) hours?: number;
}

export class SegmentDto {
  @ApiProperty()
  @IsString()
  @Matches(/^\S.{0,99}$/s, { message: 'must be 1-100 characters' })
  name!: string;

  @ApiProperty({ required: false })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;

  @ApiProperty({ type: 'array', items: { type: 'object' } })
  @IsArray()
  constraints!: unknown[];
}
