import { Module } from '@nestjs/common';
import { ArchiveReader } from './archive.reader';
import { ArchiveScheduler } from './archive.scheduler';
import { ArchiveService } from './archive.service';
import { ChangesController } from './changes.controller';
import { ChangesService } from './changes.service';

@Module({
  controllers: [ChangesController],
  providers: [ChangesService, ArchiveService, ArchiveReader, ArchiveScheduler],
  exports: [ChangesService, ArchiveService, ArchiveReader],
})
export class ArchiveModule {}
