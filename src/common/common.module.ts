import { Global, Module } from '@nestjs/common';
import { ReplicaDuties } from './replica-duties';
import { ReplicaLifecycle } from './replica-lifecycle';
import { SseConnections } from './sse.connections';

// Infrastructure providers several feature modules share.
@Global()
@Module({
  providers: [SseConnections, ReplicaDuties, ReplicaLifecycle],
  exports: [SseConnections, ReplicaDuties, ReplicaLifecycle],
})
export class CommonModule {}
