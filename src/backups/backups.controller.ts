import { Body, Controller, Get, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNotImplementedResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Access, CurrentPrincipal } from '../common/auth.decorators';
import { actorId, Principal } from '../common/principal';
import { ArchiveReader } from '../archive/archive.reader';
import { ArchiveService } from '../archive/archive.service';
import { BackupsService } from './backups.service';
import { BackupListDto, BackupManifestDto, CreateBackupDto, ListBackupsQueryDto } from './dto/backup.dto';

@ApiTags('backups')
@ApiBearerAuth()
@Controller('api/backups')
export class BackupsController {
  constructor(
    private readonly backups: BackupsService,
    private readonly archive: ArchiveService,
    private readonly reader: ArchiveReader,
  ) {}

  @Post()
  @Access('admin', 'token:admin')
  @ApiCreatedResponse({ type: BackupManifestDto, description: 'the backup is complete; its manifest' })
  @ApiNotImplementedResponse({ description: 'PostgreSQL without pg_dump (code BACKUP.PG_DUMP_NOT_FOUND)' })
  create(@CurrentPrincipal() p: Principal, @Body() _dto: CreateBackupDto) {
    return this.backups.createAudited('api', actorId(p));
  }

  @Get()
  @Access('admin', 'token:admin')
  @ApiOkResponse({ type: BackupListDto, description: 'manifests in WAVEGATE_BACKUP_DIR, newest first' })
  async list(@Query() q: ListBackupsQueryDto) {
    const page = await this.backups.list({ cursor: q.cursor, limit: q.limit ?? 50 });
    const w = await this.reader.restorableWindow();
    // The last full verification (after each base, `wavegate backup verify|repair`); made now if none was yet.
    const report = (await this.archive.lastVerification()) ?? (await this.archive.verify());
    return {
      ...page,
      restorableWindow: {
        oldest: w.oldest.toISOString(),
        newest: w.newest.toISOString(),
        archivedThrough: w.archivedThrough?.toISOString() ?? null,
      },
      archive: {
        verifiedAt: report.checkedAt,
        ok: report.ok,
        damagedFiles: report.files
          .filter((f) => f.status !== 'ok' && f.status !== 'repaired')
          .map((f) => f.file),
        chainProblems: report.chain.map((c) => `${c.file ?? ''}: ${c.reason}`),
      },
    };
  }
}
