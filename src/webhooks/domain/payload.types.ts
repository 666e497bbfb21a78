// The shapes of what a webhook subscription receives (issue 8) and of what the formatter reads from an event: the
// event, the change-request event's data and its people, the `json` body and the Slack message (Block Kit blocks).
// Types only; payload.formatter.ts builds the bodies.

export interface WebhookEvent {
  id: string;
  type: string;
  entityType: string;
  entityId: string;
  actor: string;
  occurredAt: Date;
  data: Record<string, unknown>;
}

/**
 * What the Slack formatter reads from a change-request event's `data` (issues 3 and 4 emit these). Every field is
 * optional and loosely typed on purpose: a missing or unexpected field degrades to "—" in the message, never to a
 * failed delivery.
 */
export interface ChangeRequestEventData {
  changeRequestId?: string;
  title?: string;
  /** `tenant.soft_delete`, `flag.update`, ... (shown in words). */
  operation?: string;
  status?: string;
  /** A user id, an email, or `{name?, email?, id?}`. */
  author?: unknown;
  targetCount?: number;
  irreversible?: boolean;
  /** Fraction (0..1) or percentage (>1) of all tenants the change request touches. */
  shareOfTenants?: number;
  /** `true`, or `{by, incidentRef, at}`: an emergency execution without approval (design rule 8). */
  breakGlass?: unknown;
  incidentRef?: string;
  /** On `change_request.break_glass_reviewed`: `{by, outcome: 'accepted' | 'concerns'}` (ADR 0010). */
  review?: unknown;
  environment?: string;
  /** Wave index (0-based) or `{index, size}`. */
  wave?: unknown;
  waveIndex?: number;
  waveCount?: number;
  reason?: string;
  haltReason?: string;
  comment?: string;
  requiredApprovals?: number;
  approvals?: unknown;
  approvalCount?: number;
  planHash?: string;
  revision?: number;
  /** On `change_request.commented`: the comment's author and the people it mentions (actor ids). */
  commentBy?: unknown;
  mentions?: unknown;
  /** Added by the delivery worker (WebhookEventEnricher): the people of the event, by name. */
  people?: EventPeople;
}

/** The people of an event by name, each `{id, name, email}` (issue 15); any of them may be missing. */
export interface EventPeople {
  /** Who did it (the event's actor). */
  actor?: unknown;
  author?: unknown;
  /** The approvers of the event's revision at the time of the event. */
  approvers?: unknown[];
  commentBy?: unknown;
  mentions?: unknown[];
  breakGlassBy?: unknown;
  reviewBy?: unknown;
}

export interface MessageOptions {
  /** Approve / Reject buttons on a pending CR's message (only when Slack's signing secret is configured). */
  approvalButtons?: boolean;
}

export interface JsonPayload {
  id: string;
  type: string;
  occurredAt: string;
  entityType: string;
  entityId: string;
  actor: string;
  data: Record<string, unknown>;
}

export type TextObject = { type: 'plain_text' | 'mrkdwn'; text: string; emoji?: boolean };
export type SlackBlock =
  | { type: 'header'; text: TextObject }
  | { type: 'section'; text?: TextObject; fields?: TextObject[] }
  | { type: 'actions'; elements: Array<Record<string, unknown>> }
  | {
      type: 'input';
      block_id: string;
      optional: boolean;
      label: TextObject;
      element: Record<string, unknown>;
    }
  | { type: 'context'; elements: TextObject[] };

export interface SlackPayload {
  text: string;
  blocks: SlackBlock[];
}
