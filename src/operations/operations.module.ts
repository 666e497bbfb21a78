import { Global, Module } from '@nestjs/common';
import { OperationRegistry } from './operation.registry';

/** Global: any module can inject the registry to plug in its operations and target resolvers. */
@Global()
@Module({ providers: [OperationRegistry], exports: [OperationRegistry] })
export class OperationsModule {}
