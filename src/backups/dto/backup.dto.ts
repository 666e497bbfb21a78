import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { BACKUP_TRIGGERS } from '../backup.manifest';

/** `POST /api/backups` takes no fields; an empty class makes the global pipe refuse unknown ones by name. */
export class CreateBackupDto {}

export class ListBackupsQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(400) cursor?: string;
  @ApiPropertyOptional({ default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}

/** The manifest written next to each backup file (OpenAPI schema). */
export class BackupManifestDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['writing', 'complete'] }) status!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ enum: ['sqlite', 'postgres'] }) database!: string;
  @ApiProperty({
    description: 'file name in WAVEGATE_BACKUP_DIR',
    example: 'wavegate-20261130T001500000Z-….sqlite',
  })
  fileName!: string;
  @ApiProperty() sizeBytes!: number;
  @ApiProperty({ description: 'SHA-256 (hex) of the backup file' }) sha256!: string;
  @ApiProperty({ nullable: true, type: String, description: 'latest applied migration' })
  schemaVersion!: string | null;
  @ApiProperty() wavegateVersion!: string;
  @ApiProperty() durationMs!: number;
  @ApiProperty({ enum: BACKUP_TRIGGERS }) trigger!: string;
  @ApiProperty({ description: 'audit actor id, "cli" or "schedule"' }) requestedBy!: string;
}

export class RestorableWindowDto {
  @ApiProperty({ format: 'date-time', description: 'oldest moment a tenant can be restored to' })
  oldest!: string;
  @ApiProperty({ format: 'date-time', description: 'newest moment a tenant can be restored to' })
  newest!: string;
  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'newest change shipped to archive files (what survives losing the database)',
  })
  archivedThrough!: string | null;
}

export class ArchiveStateDto {
  @ApiProperty({ format: 'date-time' }) verifiedAt!: string;
  @ApiProperty() ok!: boolean;
  @ApiProperty({ type: [String], description: 'files damaged beyond repair, or missing' })
  damagedFiles!: string[];
  @ApiProperty({ type: [String], description: 'broken chain links and gaps' }) chainProblems!: string[];
}

export class BackupListDto {
  @ApiProperty({ type: [BackupManifestDto] }) items!: BackupManifestDto[];
  @ApiPropertyOptional() nextCursor?: string;
  @ApiProperty({ type: RestorableWindowDto }) restorableWindow!: RestorableWindowDto;
  @ApiProperty({ type: ArchiveStateDto, description: "the continuous archive's last verification" })
  archive!: ArchiveStateDto;
}
