import { ApiTokenEntity } from '../auth/api-token.entity';
import { SessionEntity } from '../auth/session.entity';
import { AuditEntryEntity, LedgerHeadEntity } from '../audit/audit-entry.entity';
import { EventConsumerEntity, EventEntity } from '../events/event.entity';
import { UserEntity } from '../users/user.entity';
import {
  WebhookDeliveryAttemptEntity,
  WebhookDeliveryEntity,
  WebhookSettingEntity,
  WebhookSubscriptionEntity,
} from '../webhooks/webhook.entity';

// Every entity the data source knows. Features append theirs here.
export const ENTITIES = [
  UserEntity,
  SessionEntity,
  ApiTokenEntity,
  AuditEntryEntity,
  LedgerHeadEntity,
  EventEntity,
  EventConsumerEntity,
  WebhookSubscriptionEntity,
  WebhookDeliveryEntity,
  WebhookDeliveryAttemptEntity,
  WebhookSettingEntity,
];
