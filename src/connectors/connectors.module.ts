import { Module, OnModuleInit } from '@nestjs/common';
import { OperationRegistry } from '../operations/operation.registry';
import { DataConnectorEntity } from './connector.entity';
import { connectorRestoreOperation } from './connector-restore.operation';
import { ConnectorsController } from './connectors.controller';
import { ConnectorsService } from './connectors.service';

/**
 * Data connectors (ADR 0012): before an external call of a destructive operation touches a tenant, every
 * configured connector captures that tenant's rows; `connector.restore` writes a capture back.
 */
@Module({
  controllers: [ConnectorsController],
  providers: [ConnectorsService],
  exports: [ConnectorsService],
})
export class ConnectorsModule implements OnModuleInit {
  constructor(
    private readonly registry: OperationRegistry,
    private readonly connectors: ConnectorsService,
  ) {}

  onModuleInit(): void {
    this.registry.register(connectorRestoreOperation(this.connectors));
    this.registry.addBeforeDestructive(async (op, target, ctx) => {
      const names = await ctx.read(async (m) =>
        (await m.find(DataConnectorEntity, { select: { name: true }, order: { name: 'ASC' } })).map(
          (c) => c.name,
        ),
      );
      const out = [];
      for (const name of names) {
        out.push(
          await this.connectors.captureOnce(
            name,
            target.tenantId,
            `before ${op.name} (${op.mode})`,
            ctx.changeRequestId,
          ),
        );
      }
      return out;
    });
  }
}
