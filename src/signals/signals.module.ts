import { Module } from '@nestjs/common';
import { RolloutsModule } from '../rollouts/rollouts.module';
import { SignalsController } from './signals.controller';
import { SignalsService } from './signals.service';

/** Exports SignalsService: `record(tx, signal)` for modules that report errors (SDK error reports). */
@Module({
  imports: [RolloutsModule],
  controllers: [SignalsController],
  providers: [SignalsService],
  exports: [SignalsService],
})
export class SignalsModule {}
