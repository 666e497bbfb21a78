import { Module } from '@nestjs/common';
import { WebhookDeliveryWorker } from './webhook-delivery.worker';
import { WebhookEventEnricher } from './webhook-event.enricher';
import { WebhookFanoutConsumer } from './webhook-fanout.consumer';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

@Module({
  controllers: [WebhooksController],
  providers: [WebhooksService, WebhookDeliveryWorker, WebhookFanoutConsumer, WebhookEventEnricher],
  exports: [WebhookDeliveryWorker],
})
export class WebhooksModule {}
