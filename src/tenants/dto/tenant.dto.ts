import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
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
  MinLength,
} from 'class-validator';
import { TENANT_STATUSES, TENANT_TIERS, TenantStatus, TenantTier } from '../tenant.entity';
import { APP_KEY_PATTERN } from '../tenant-input.validator';

export class CreateAppDto {
  @ApiProperty({ example: 'insight', description: 'lower-case letters, digits, . _ -' })
  @IsString()
  @Matches(APP_KEY_PATTERN, { message: 'must be lower-case letters, digits, . _ - (at most 64)' })
  key!: string;

  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional({ description: 'an app being retired' })
  @IsOptional()
  @IsBoolean()
  legacy?: boolean;
}

export class InstallationInputDto {
  @ApiProperty() appKey!: string;
  @ApiPropertyOptional({ type: Object }) data?: Record<string, unknown>;
}

/** For the OpenAPI document; the body is validated by validateTenant() so that import rows report their row. */
export class CreateTenantDto {
  @ApiProperty({ example: 'acme', pattern: '^[A-Za-z0-9._-]{1,128}$' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: TENANT_TIERS }) tier!: TenantTier;
  @ApiPropertyOptional() region?: string;
  @ApiPropertyOptional({ type: Object }) attributes?: Record<string, unknown>;
  @ApiPropertyOptional({ type: [InstallationInputDto] }) installations?: InstallationInputDto[];
}

export class ImportTenantsDto {
  @ApiProperty({ type: [CreateTenantDto] }) tenants!: CreateTenantDto[];
}

export class UpdateTenantDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ type: Object, description: 'replaces the attributes' })
  @IsOptional()
  @IsObject()
  attributes?: Record<string, unknown>;
}

export class ListTenantsQueryDto {
  @IsOptional() @IsIn(TENANT_STATUSES) status?: TenantStatus;
  @IsOptional() @IsIn(TENANT_TIERS) tier?: TenantTier;
  @IsOptional() @IsString() @MaxLength(64) region?: string;
  @IsOptional() @IsString() @MaxLength(64) app?: string;
  @IsOptional() @IsString() @MaxLength(200) q?: string;
  @IsOptional() @IsString() @MaxLength(500) cursor?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
}
