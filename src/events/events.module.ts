import { Global, Module } from '@nestjs/common';
import { EventsController } from './events.controller';
import { EventsDispatcher } from './events.dispatcher';
import { EventsService } from './events.service';

@Global()
@Module({
  controllers: [EventsController],
  providers: [EventsService, EventsDispatcher],
  exports: [EventsService, EventsDispatcher],
})
export class EventsModule {}
