import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { FlagsModule } from '../flags/flags.module';
import { SignalsModule } from '../signals/signals.module';
import { ClientApiController } from './client-api.controller';
import { RawTokenMiddleware } from './client-auth.middleware';
import { ClientFeaturesFastPath } from './client-features.fast-path';

// ClientFeaturesFastPath is mounted by app.factory ahead of Nest's pipeline (mountClientApiFastPath).
@Module({
  imports: [FlagsModule, SignalsModule],
  controllers: [ClientApiController],
  providers: [ClientFeaturesFastPath],
  exports: [ClientFeaturesFastPath],
})
export class ClientApiModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RawTokenMiddleware).forRoutes('api/client/*path', 'ofrep/*path');
  }
}
