import { Module } from '@nestjs/common';
import { BackupScheduler } from './backup.scheduler';
import { BackupsController } from './backups.controller';
import { BackupsService } from './backups.service';

@Module({
  controllers: [BackupsController],
  providers: [BackupsService, BackupScheduler],
  exports: [BackupsService],
})
export class BackupsModule {}
