import { Module } from '@nestjs/common';
import { PeopleModule } from '../people/people.module';
import { WebhookDeliveryWorker } from './webhook-delivery.worker';
import { WebhookEventEnricher } from './webhook-event.enricher';
import { WebhookFanoutConsumer } from './webhook-fanout.consumer';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

@Module({
  imports: [PeopleModule],
  controllers: [WebhooksController],
  providers: [WebhooksService, WebhookDeliveryWorker, WebhookFanoutConsumer, WebhookEventEnricher],
  exports: [WebhookDeliveryWorker],
})
export class WebhooksModule {}
