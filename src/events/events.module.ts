import { Global, Module } from '@nestjs/common';
import { EventsController } from './events.controller';
import { EventsDispatcher } from './events.dispatcher';
import { EventsService } from './events.service';
import { OutboxListener } from './outbox.listener';

@Global()
@Module({
  controllers: [EventsController],
  providers: [EventsService, EventsDispatcher, OutboxListener],
  exports: [EventsService, EventsDispatcher, OutboxListener],
})
export class EventsModule {}
