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
import { BackupsService } from './backups.service';
import { BackupListDto, BackupManifestDto, CreateBackupDto, ListBackupsQueryDto } from './dto/backup.dto';

@ApiTags('backups')
@ApiBearerAuth()
@Controller('api/backups')
export class BackupsController {
  constructor(private readonly backups: BackupsService) {}

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
  list(@Query() q: ListBackupsQueryDto) {
    return this.backups.list({ cursor: q.cursor, limit: q.limit ?? 50 });
  }
}
