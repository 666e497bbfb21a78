import { Global, Module, OnModuleInit } from '@nestjs/common';
import { ROLLOUT_PROGRESS } from '../change-requests/rollout-progress.port';
import { EventsModule } from '../events/events.module';
import { attachBuiltinExecutors } from '../operations/builtin.apply';
import { OperationRegistry } from '../operations/operation.registry';
import { SnapshotsService } from '../snapshots/snapshots.service';
import { ENGINE_SETTINGS, engineSettingsFromEnv } from './engine.settings';
import { RolloutEngine } from './rollout.engine';
import { HttpAllowlistController } from './http-allowlist.controller';
import { RolloutsController } from './rollouts.controller';
import { RolloutsService } from './rollouts.service';

// Global: the change-request GET reads progress from RolloutsService without a module cycle.
@Global()
@Module({
  imports: [EventsModule],
  controllers: [RolloutsController, HttpAllowlistController],
  providers: [
    { provide: ENGINE_SETTINGS, useFactory: () => engineSettingsFromEnv() },
    SnapshotsService,
    RolloutEngine,
    RolloutsService,
    // The change-request GET shows live progress through this port (change-requests sits below rollouts).
    { provide: ROLLOUT_PROGRESS, useExisting: RolloutsService },
  ],
  exports: [RolloutEngine, RolloutsService, SnapshotsService, ROLLOUT_PROGRESS],
})
export class RolloutsModule implements OnModuleInit {
  constructor(
    private readonly registry: OperationRegistry,
    private readonly snapshots: SnapshotsService,
  ) {}

  onModuleInit(): void {
    attachBuiltinExecutors((name) => this.registry.find(name), this.snapshots);
  }
}
