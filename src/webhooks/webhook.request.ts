import { formatBody } from './domain/payload.formatter';
import { MessageOptions, WebhookEvent } from './domain/payload.types';
import { sign, SIGNATURE_HEADER } from './domain/signature';
import { WebhookFormat } from './webhook.entity';

export const USER_AGENT = 'Wavegate-Webhooks/1';

/** Body and headers of one delivery attempt; `now` is the injected clock's time (the signed timestamp). */
export function buildRequest(
  format: WebhookFormat,
  secret: string,
  event: WebhookEvent,
  publicUrl: string,
  now: Date,
  meta: { deliveryId: string; attempt: number },
  options: MessageOptions = {},
): { body: string; headers: Record<string, string> } {
  const body = formatBody(format, event, publicUrl, options);
  return {
    body,
    headers: {
      'Content-Type': 'application/json',
      'User-Agent': USER_AGENT,
      'Wavegate-Event-Id': event.id,
      'Wavegate-Event-Type': event.type,
      'Wavegate-Delivery-Id': meta.deliveryId,
      'Wavegate-Delivery-Attempt': String(meta.attempt),
      [SIGNATURE_HEADER]: sign(secret, body, Math.floor(now.getTime() / 1000)),
    },
  };
}
