import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

export class ListChangesQueryDto {
  @ApiPropertyOptional({
    description: 'return changes after this position (0: from the start)',
    example: '0',
  })
  @IsOptional()
  @IsString()
  @Matches(/^\d{1,15}$/, { message: 'after: expected a position (a non-negative integer)' })
  after?: string;
  @ApiPropertyOptional({ default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}

export class RowChangeDto {
  @ApiProperty() position!: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    description:
      'PostgreSQL: the xid; SQLite: Wavegate transaction counter, null for a change made outside Wavegate',
  })
  txId!: number | null;
  @ApiProperty({ format: 'date-time' }) changedAt!: string;
  @ApiProperty() table!: string;
  @ApiProperty() tenantId!: string;
  @ApiProperty({ enum: ['I', 'U', 'D', 'P'], description: 'insert, update, delete, purge (images erased)' })
  op!: string;
  @ApiProperty({ nullable: true, type: Object, description: 'the row before, DB column names' })
  before!: Record<string, unknown> | null;
  @ApiProperty({ nullable: true, type: Object, description: 'the row after, DB column names' })
  after!: Record<string, unknown> | null;
}

export class ChangePageDto {
  @ApiProperty({ type: [RowChangeDto] }) items!: RowChangeDto[];
  @ApiPropertyOptional({ description: 'the position to pass as `after` for the next page' })
  nextCursor?: string;
}
