import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { TARGET_STATUSES } from '../rollout.entity';

export class RolloutCommandDto {
  @IsOptional() @IsString() @Length(1, 2000) reason?: string;
}

export class ListTargetsQueryDto {
  @IsOptional() @IsIn(TARGET_STATUSES) status?: string;
  @IsOptional() @IsIn(['apply', 'undo']) phase?: string;
  @IsOptional() @IsString() @Length(1, 200) cursor?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit?: number;
}
