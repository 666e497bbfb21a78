import {
  DeliveryStatus,
  WebhookDeliveryAttemptEntity,
  WebhookDeliveryEntity,
  WebhookSubscriptionEntity,
} from './webhook.entity';

// What the API returns. The signing secret is never part of a view.

export interface WebhookView {
  id: string;
  name: string;
  url: string;
  format: 'slack' | 'json';
  events: string[];
  environments: string[] | null;
  enabled: boolean;
  /** `failing` after a delivery was given up; `disabled` by an admin or after a 410 Gone (see statusReason). */
  status: 'active' | 'failing' | 'disabled';
  statusReason: string | null;
  statusChangedAt: Date | null;
  deliveries: { pending: number; failed: number; lastSucceededAt: Date | null };
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface DeliveryStats {
  pending: number;
  failed: number;
  lastSucceededAt: Date | null;
}

export const toWebhookView = (s: WebhookSubscriptionEntity, stats: DeliveryStats): WebhookView => ({
  id: s.id,
  name: s.name,
  url: s.url,
  format: s.format,
  events: s.events,
  environments: s.environments,
  enabled: s.enabled,
  status: s.status,
  statusReason: s.statusReason,
  statusChangedAt: s.statusChangedAt,
  deliveries: stats,
  createdBy: s.createdBy,
  createdAt: s.createdAt,
  updatedAt: s.updatedAt,
});

export interface AttemptView {
  attempt: number;
  at: Date;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseBody: string | null;
}

export interface DeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  eventSeq: number;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  lastAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  completedAt: Date | null;
  /** Every attempt, oldest first (numbers restart at 1 after a redelivery). */
  history: AttemptView[];
}

export const toDeliveryView = (
  d: WebhookDeliveryEntity,
  attempts: WebhookDeliveryAttemptEntity[],
): DeliveryView => ({
  id: d.id,
  eventId: d.eventId,
  eventType: d.eventType,
  eventSeq: d.eventSeq,
  status: d.status,
  attempts: d.attempts,
  nextAttemptAt: d.status === 'pending' ? d.nextAttemptAt : null,
  lastAttemptAt: d.lastAttemptAt,
  lastStatusCode: d.lastStatusCode,
  lastError: d.lastError,
  createdAt: d.createdAt,
  completedAt: d.completedAt,
  history: attempts.map((a) => ({
    attempt: a.attempt,
    at: a.at,
    statusCode: a.statusCode,
    latencyMs: a.latencyMs,
    error: a.error,
    responseBody: a.responseBody,
  })),
});
