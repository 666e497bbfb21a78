import { IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { ENVIRONMENT_NAME_RE } from '../../environments/environment-name';

export const SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;

export class CreateSignalDto {
  @IsString() @Length(1, 100) source!: string;
  @IsIn(SEVERITIES) severity!: (typeof SEVERITIES)[number];
  @IsOptional() @IsString() @Length(1, 128) tenantId?: string;
  @IsOptional() @IsString() @Length(1, 36) changeRequestId?: string;
  @IsOptional() @IsString() @Length(1, 200) flagKey?: string;
  /**
   * The environment the signal comes from (an existing environment's name; unknown names are refused with 422).
   * Omitted: the signal concerns every environment (ADR 0007).
   */
  @IsOptional()
  @IsString()
  @Matches(ENVIRONMENT_NAME_RE, {
    message: 'must be an environment name (1-100 lower-case letters, digits, _ or -)',
  })
  environment?: string;
  @IsString() @Length(1, 2000) message!: string;
  @IsOptional() @IsInt() @Min(1) @Max(1_000_000) count?: number;
}
