import { Module, OnModuleInit } from '@nestjs/common';
import { ChangeRequestsModule } from '../change-requests/change-requests.module';
import { ChangeRequestsService } from '../change-requests/change-requests.service';
import { Principal } from '../common/principal';
import { OperationRegistry } from '../operations/operation.registry';
import { flagRolloutOperation } from './flag-rollout.operation';
import { flagTargetId, flagTargetResolver, flagUpdateOperation } from './flag.operations';
import { FlagEnvironmentChange } from './flag-environment.changes';
import { FlagsService } from './flags.service';
import { FlagsModule } from './flags.module';

/**
 * Wires flags into change requests: registers `flag.update`, `flag.rollout` (tenant targets) and the `flag` target
 * resolver, and lets a flag write in an environment that requires change requests open (and submit) a
 * `flag.update` CR.
 */
@Module({ imports: [FlagsModule, ChangeRequestsModule] })
export class FlagChangeRequestsModule implements OnModuleInit {
  constructor(
    private readonly registry: OperationRegistry,
    private readonly flags: FlagsService,
    private readonly changeRequests: ChangeRequestsService,
  ) {}

  onModuleInit(): void {
    this.registry.register(flagUpdateOperation(this.flags));
    this.registry.register(flagRolloutOperation(this.flags));
    if (!this.registry.resolver('flag')) this.registry.registerResolver(flagTargetResolver);
    this.flags.setChangeRequestOpener((p, change, meta) => this.open(p, change, meta));
  }

  private async open(
    p: Principal,
    change: FlagEnvironmentChange,
    meta: { justification?: string; ticket?: string },
  ): Promise<Record<string, unknown>> {
    const cr = await this.changeRequests.create(p, {
      title: `Update ${change.flag} in ${change.environment}`,
      operation: 'flag.update',
      params: {
        environment: change.environment,
        flag: change.flag,
        beforeVersion: change.beforeVersion,
        before: change.before,
        after: change.after,
      },
      targets: [{ type: 'flag', id: flagTargetId(change.environment, change.flag) }],
      justification: meta.justification?.trim() || `Flag change in ${change.environment} via the flags API`,
      ...(meta.ticket ? { ticket: meta.ticket } : {}),
    });
    const submitted = await this.changeRequests.command(p, cr.id as string, { type: 'submit' });
    return submitted ?? cr;
  }
}
