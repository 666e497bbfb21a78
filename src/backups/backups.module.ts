import { Module } from '@nestjs/common';
import { ArchiveModule } from '../archive/archive.module';
import { BackupScheduler } from './backup.scheduler';
import { BackupsController } from './backups.controller';
import { BackupsService } from './backups.service';

@Module({
  imports: [ArchiveModule],
  controllers: [BackupsController],
  providers: [BackupsService, BackupScheduler],
  exports: [BackupsService],
})
export class BackupsModule {}
