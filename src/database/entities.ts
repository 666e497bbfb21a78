import { ApiTokenEntity } from '../auth/api-token.entity';
import { SessionEntity } from '../auth/session.entity';
import { AuditEntryEntity, LedgerHeadEntity } from '../audit/audit-entry.entity';
import {
  ChangeRequestApprovalEntity,
  ChangeRequestEntity,
  ChangeRequestPlanEntity,
} from '../change-requests/change-request.entity';
import { EventConsumerEntity, EventEntity } from '../events/event.entity';
import { EnvironmentEntity } from '../environments/environment.entity';
import { FlagEntity, FlagEnvironmentEntity, SegmentEntity } from '../flags/flag.entity';
import { ClientInstanceEntity, FlagErrorReportEntity, FlagMetricEntity } from '../flags/flag-metrics.entity';
import { ApprovalPolicyEntity } from '../policies/approval-policy.entity';
import { AppEntity, InstallationEntity, TenantEntity } from '../tenants/tenant.entity';
import { UserEntity } from '../users/user.entity';
import { HttpAllowlistEntity } from '../operations/http-allowlist.entity';
import { RolloutEntity, RolloutTargetEntity, RolloutWaveEntity } from '../rollouts/rollout.entity';
import { SignalEntity } from '../signals/signal.entity';
import { ChangeRequestCommentEntity } from '../comments/comment.entity';
import { SlackLinkCodeEntity, SlackLinkEntity } from '../slack/slack-link.entity';
import { DataConnectorEntity, DataConnectorProposalEntity } from '../connectors/connector.entity';
import { ConnectorCaptureEntity } from '../snapshots/connector-capture.entity';
import { ProviderEntity, ProviderSecretEntity, ProviderTenantEntity } from '../providers/provider.entity';
import { ErasureReceiptEntity, TenantKeyEntity, TenantSnapshotEntity } from '../snapshots/snapshot.entity';
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
  AppEntity,
  TenantEntity,
  InstallationEntity,
  ChangeRequestEntity,
  ChangeRequestPlanEntity,
  ChangeRequestApprovalEntity,
  ApprovalPolicyEntity,
  WebhookSubscriptionEntity,
  WebhookDeliveryEntity,
  WebhookDeliveryAttemptEntity,
  WebhookSettingEntity,
  EnvironmentEntity,
  FlagEntity,
  FlagEnvironmentEntity,
  SegmentEntity,
  FlagMetricEntity,
  ClientInstanceEntity,
  FlagErrorReportEntity,
  RolloutEntity,
  RolloutWaveEntity,
  RolloutTargetEntity,
  HttpAllowlistEntity,
  SignalEntity,
  TenantSnapshotEntity,
  TenantKeyEntity,
  ErasureReceiptEntity,
  ChangeRequestCommentEntity,
  SlackLinkEntity,
  SlackLinkCodeEntity,
  DataConnectorEntity,
  DataConnectorProposalEntity,
  ConnectorCaptureEntity,
  ProviderEntity,
  ProviderSecretEntity,
  ProviderTenantEntity,
];
