import { Module } from '@nestjs/common';
import { EnvironmentsModule } from '../environments/environments.module';
import { FlagMetricsService } from './flag-metrics.service';
import { FlagsController, SegmentsController } from './flags.controller';
import { FlagsService } from './flags.service';
import { SegmentsService } from './segments.service';
import { SnapshotService } from './snapshot.service';

@Module({
  imports: [EnvironmentsModule],
  controllers: [FlagsController, SegmentsController],
  providers: [FlagsService, SegmentsService, SnapshotService, FlagMetricsService],
  exports: [FlagsService, SnapshotService, FlagMetricsService],
})
export class FlagsModule {}
