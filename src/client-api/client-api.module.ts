import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { FlagsModule } from '../flags/flags.module';
import { ClientApiController } from './client-api.controller';
import { RawTokenMiddleware } from './client-auth.middleware';

@Module({ imports: [FlagsModule], controllers: [ClientApiController] })
export class ClientApiModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RawTokenMiddleware).forRoutes('api/client/*path', 'ofrep/*path');
  }
}
