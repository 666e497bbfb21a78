import { IsIn, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';

export const SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;

export class CreateSignalDto {
  @IsString() @Length(1, 100) source!: string;
  @IsIn(SEVERITIES) severity!: (typeof SEVERITIES)[number];
  @IsOptional() @IsString() @Length(1, 128) tenantId?: string;
  @IsOptional() @IsString() @Length(1, 36) changeRequestId?: string;
  @IsOptional() @IsString() @Length(1, 200) flagKey?: string;
  @IsString() @Length(1, 2000) message!: string;
  @IsOptional() @IsInt() @Min(1) @Max(1_000_000) count?: number;
}
