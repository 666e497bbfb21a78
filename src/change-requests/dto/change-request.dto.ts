import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsISO8601,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { BREAK_GLASS_REVIEW_NOTE_MAX, BREAK_GLASS_REVIEW_OUTCOMES } from '../domain/break-glass-review';
import { BreakGlassReviewOutcome, CR_STATUSES, CrStatus } from '../domain/lifecycle';
import { PLAN_HASH_PATTERN } from '../domain/plan-hash';

// Targets, selector, waves and halt policy are checked by the planner and the domain validators, which name every
// offending entry (`targets[3].type`, `waves.sizes[2]`); here only their outer shape.

export class TargetRefDto {
  @ApiProperty({ enum: ['tenant', 'installation', 'flag', 'provider'] }) type!: string;
  @ApiProperty({ example: 'acme/insight', description: 'an installation id is "<tenantId>/<appKey>"' })
  id!: string;
}

const NOT_BLANK = /\S/;

export class CreateChangeRequestDto {
  @ApiProperty()
  @IsString()
  @Matches(NOT_BLANK, { message: 'must not be blank' })
  @MaxLength(200)
  title!: string;

  @ApiProperty({ example: 'installation.deactivate' })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  operation!: string;

  @ApiPropertyOptional({ type: Object })
  @IsOptional()
  @IsObject()
  params?: Record<string, unknown>;

  @ApiPropertyOptional({ type: [TargetRefDto] })
  @IsOptional()
  @IsArray()
  targets?: unknown[];

  @ApiPropertyOptional({ type: Object, description: '{tier?, region?, appKey?, attributes?}' })
  @IsOptional()
  @IsObject()
  selector?: Record<string, unknown>;

  @ApiPropertyOptional({ type: Object, description: '{sizes? | percentages?, bakeSeconds?}' })
  @IsOptional()
  @IsObject()
  waves?: Record<string, unknown>;

  @ApiPropertyOptional({
    type: Object,
    description: '{maxFailures?, maxFailureRate?, maxErrorSignals?, minSample?, ...}',
  })
  @IsOptional()
  @IsObject()
  haltPolicy?: Record<string, unknown>;

  @ApiProperty({ description: 'why this change is needed; required' })
  @IsString()
  @Matches(NOT_BLANK, { message: 'must not be blank' })
  @MaxLength(5000)
  justification!: string;

  @ApiPropertyOptional({ description: 'required for irreversible operations' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  ticket?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsISO8601()
  scheduledAt?: string;
}

export class EditChangeRequestDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Matches(NOT_BLANK, { message: 'must not be blank' })
  @MaxLength(200)
  title?: string;

  @ApiPropertyOptional({ type: Object }) @IsOptional() @IsObject() params?: Record<string, unknown>;
  @ApiPropertyOptional({ type: [TargetRefDto] }) @IsOptional() @IsArray() targets?: unknown[];
  @ApiPropertyOptional({ type: Object }) @IsOptional() @IsObject() selector?: Record<string, unknown>;
  @ApiPropertyOptional({ type: Object }) @IsOptional() @IsObject() waves?: Record<string, unknown>;
  @ApiPropertyOptional({ type: Object }) @IsOptional() @IsObject() haltPolicy?: Record<string, unknown>;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Matches(NOT_BLANK, { message: 'must not be blank' })
  @MaxLength(5000)
  justification?: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) ticket?: string;
  @ApiPropertyOptional({ format: 'date-time' }) @IsOptional() @IsISO8601() scheduledAt?: string;
}

export class ApproveDto {
  @ApiProperty({ description: 'the planHash you reviewed' })
  @IsString()
  @Matches(PLAN_HASH_PATTERN, { message: 'must be a plan hash (64 lower-case hex characters)' })
  planHash!: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(5000) comment?: string;
}

export class RejectDto {
  @ApiProperty({ description: 'why; required' })
  @IsString()
  @MaxLength(5000)
  comment!: string;

  @ApiPropertyOptional({
    description: 'the plan hash rejected; when given, a different current plan is a 409',
  })
  @IsOptional()
  @Matches(PLAN_HASH_PATTERN, { message: 'must be a plan hash (64 lower-case hex characters)' })
  planHash?: string;
}

/** Emergency path (design rule 8): an admin runs a reversible change without approval, naming the incident. */
export class BreakGlassDto {
  @ApiProperty({ example: 'INC-4711', description: 'The incident this emergency change answers' })
  @IsString()
  @MinLength(3)
  @MaxLength(200)
  incidentRef!: string;
}

/** The review after the fact of a break-glass execution (design rule 8, ADR 0010). */
export class BreakGlassReviewDto {
  @ApiProperty({
    enum: BREAK_GLASS_REVIEW_OUTCOMES,
    description: '`accepted`: the emergency change was justified; `concerns`: it was not, or not like this',
  })
  @IsIn(BREAK_GLASS_REVIEW_OUTCOMES)
  outcome!: BreakGlassReviewOutcome;

  @ApiProperty({
    description: 'what you checked and concluded; required',
    maxLength: BREAK_GLASS_REVIEW_NOTE_MAX,
  })
  @IsString()
  @Matches(NOT_BLANK, { message: 'must not be blank' })
  @MaxLength(BREAK_GLASS_REVIEW_NOTE_MAX)
  note!: string;
}

export class ReasonDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(5000) reason?: string;
}

export class ListChangeRequestsQueryDto {
  @IsOptional() @IsIn(CR_STATUSES) status?: CrStatus;
  @IsOptional() @IsIn(['me']) awaiting?: 'me';
  /** `pending`: executed through break-glass and not reviewed yet (with `awaiting=me`: the ones I may review). */
  @IsOptional() @IsIn(['pending', 'done']) breakGlassReview?: 'pending' | 'done';
  @IsOptional() @IsString() @MaxLength(500) cursor?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200) limit?: number;
}
