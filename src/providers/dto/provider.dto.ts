import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

const NOT_BLANK = /\S/;

/** A provider definition to register or change: it opens a `provider.register` change request. */
export class ProposeProviderDto {
  @ApiProperty({
    type: Object,
    description:
      '{name, description?, secret (new: required; edit: optional), inventory?: {url, pageSize?}, operations: ' +
      '[{name, targetType: tenant|installation, risk: reversible|irreversible, mode, description?, ' +
      'endpoints: {state, apply, undo (reversible only, required then), verify}}]} (docs/providers.md)',
  })
  @IsObject()
  provider!: Record<string, unknown>;

  @ApiProperty()
  @IsString()
  @Matches(NOT_BLANK, { message: 'must not be blank' })
  @MaxLength(2000)
  justification!: string;

  @ApiProperty({ description: 'required: provider.register is irreversible' })
  @IsString()
  @Matches(NOT_BLANK, { message: 'must not be blank' })
  @MaxLength(200)
  ticket!: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  title?: string;
}

export class SyncInventoryDto {
  @ApiPropertyOptional({ description: 'one provider; all providers with an inventory endpoint when omitted' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z][a-z0-9_]{1,39}$/, { message: 'must be a provider name' })
  provider?: string;
}
