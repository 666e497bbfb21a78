import { Module } from '@nestjs/common';
import { ArchiveReader } from './archive.reader';
import { ChangesController } from './changes.controller';
import { ChangesService } from './changes.service';

@Module({
  controllers: [ChangesController],
  providers: [ChangesService, ArchiveReader],
  exports: [ChangesService, ArchiveReader],
})
export class ArchiveModule {}
