import { Global, Module } from '@nestjs/common';
import { SseConnections } from './sse.connections';

// Infrastructure providers several feature modules share.
@Global()
@Module({ providers: [SseConnections], exports: [SseConnections] })
export class CommonModule {}
