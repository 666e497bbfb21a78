import { Module, OnModuleInit } from '@nestjs/common';
import { ChangeRequestsModule } from '../change-requests/change-requests.module';
import { OperationRegistry } from '../operations/operation.registry';
import { InventorySyncService } from './inventory.sync';
import { providerRegisterOperation, providerTargetResolver } from './provider-register.operation';
import { ProvidersController } from './providers.controller';
import { ProvidersService } from './providers.service';

/** Operation providers and inventory sync (issue 14, docs/providers.md). */
@Module({
  imports: [ChangeRequestsModule],
  controllers: [ProvidersController],
  providers: [ProvidersService, InventorySyncService],
  exports: [ProvidersService, InventorySyncService],
})
export class ProvidersModule implements OnModuleInit {
  constructor(
    private readonly registry: OperationRegistry,
    private readonly providers: ProvidersService,
  ) {}

  onModuleInit(): void {
    this.registry.register(providerRegisterOperation({ reload: () => this.providers.reload() }));
    if (!this.registry.resolver('provider')) this.registry.registerResolver(providerTargetResolver);
  }
}
