// The bodies a subscription receives (issue 8): `json` is the event itself; `slack` is a Slack incoming-webhook
// message (`text` fallback plus Block Kit `blocks`). Pure: no clock, no config beyond the public URL passed in.

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

export function jsonPayload(e: WebhookEvent): JsonPayload {
  return {
    id: e.id,
    type: e.type,
    occurredAt: e.occurredAt.toISOString(),
    entityType: e.entityType,
    entityId: e.entityId,
    actor: e.actor,
    data: e.data,
  };
}

type TextObject = { type: 'plain_text' | 'mrkdwn'; text: string; emoji?: boolean };
export type SlackBlock =
  | { type: 'header'; text: TextObject }
  | { type: 'section'; text?: TextObject; fields?: TextObject[] }
  | { type: 'actions'; elements: Array<Record<string, unknown>> }
  | { type: 'context'; elements: TextObject[] };

export interface SlackPayload {
  text: string;
  blocks: SlackBlock[];
}

const OPERATIONS: Record<string, string> = {
  'flag.update': 'Update a feature flag',
  'flag.rollout': 'Roll out a feature flag',
  'installation.deactivate': 'Deactivate app installations',
  'installation.reactivate': 'Reactivate app installations',
  'tenant.soft_delete': 'Soft-delete tenants',
  'tenant.restore': 'Restore tenants',
  'tenant.purge': 'Permanently purge tenants',
  http: 'Call a downstream service per target',
};

/** `tenant.soft_delete` -> "Soft-delete tenants"; an unknown `foo.bar_baz` -> "Foo bar baz". */
export function operationInWords(operation: unknown): string {
  if (typeof operation !== 'string' || operation === '') return 'Change request';
  const known = OPERATIONS[operation];
  if (known) return known;
  const words = operation.replace(/[._-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const CR_HEADLINES: Record<string, [string, string]> = {
  created: ['📝', 'Change request created'],
  edited: ['✏️', 'Change request edited, approvals reset'],
  submitted: ['⏳', 'Approval needed'],
  approval_added: ['👍', 'Approval added'],
  approved: ['✅', 'Approved'],
  rejected: ['❌', 'Rejected'],
  expired: ['⌛', 'Expired'],
  cancelled: ['🚫', 'Cancelled'],
  started: ['▶️', 'Rollout started'],
  wave_started: ['🌊', 'Wave started'],
  wave_completed: ['🌊', 'Wave completed'],
  halted: ['🛑', 'Rollout halted'],
  paused: ['⏸️', 'Rollout paused'],
  resumed: ['▶️', 'Rollout resumed'],
  completed: ['🏁', 'Rollout completed'],
  aborted: ['⛔', 'Rollout aborted'],
  rollback_started: ['↩️', 'Rollback started'],
  rolled_back: ['↩️', 'Rolled back'],
  break_glass_reviewed: ['🔍', 'Break-glass reviewed'],
};

/** Slack mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting#escaping). */
export const escapeMrkdwn = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const clip = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);
const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function personName(v: unknown): string | undefined {
  if (typeof v === 'string') return str(v);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return str(o.name) ?? str(o.email) ?? str(o.id);
  }
  return undefined;
}

function waveOf(d: ChangeRequestEventData): { index?: number; size?: number } {
  if (typeof d.wave === 'number') return { index: d.wave };
  if (d.wave && typeof d.wave === 'object') {
    const w = d.wave as Record<string, unknown>;
    return {
      index: num(w.index),
      size: num(w.size) ?? (Array.isArray(w.targets) ? w.targets.length : undefined),
    };
  }
  return { index: num(d.waveIndex) };
}

function reviewOf(d: ChangeRequestEventData): { by?: string; outcome?: string } {
  if (!d.review || typeof d.review !== 'object') return {};
  const r = d.review as Record<string, unknown>;
  return { by: personName(r.by), outcome: str(r.outcome) };
}

export function changeRequestUrl(publicUrl: string, id: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/ui/change-requests/${encodeURIComponent(id)}`;
}

export function isBreakGlass(data: Record<string, unknown>): boolean {
  return Boolean(data.breakGlass);
}

export function slackPayload(e: WebhookEvent, publicUrl: string): SlackPayload {
  if (e.type.startsWith('change_request.')) return changeRequestMessage(e, publicUrl);
  return genericMessage(e);
}

function changeRequestMessage(e: WebhookEvent, publicUrl: string): SlackPayload {
  const d = e.data as ChangeRequestEventData;
  const suffix = e.type.slice('change_request.'.length);
  const breakGlass = isBreakGlass(e.data);
  let [emoji, label] = CR_HEADLINES[suffix] ?? ['ℹ️', operationInWords(suffix)];
  if (breakGlass && (suffix === 'started' || suffix === 'created'))
    [emoji, label] = ['🚨', 'Break-glass execution'];
  const review = reviewOf(d);
  if (suffix === 'break_glass_reviewed' && review.outcome === 'concerns')
    [emoji, label] = ['⚠️', 'Break-glass reviewed with concerns'];
  else if (suffix === 'break_glass_reviewed' && review.outcome === 'accepted')
    [emoji, label] = ['✅', 'Break-glass reviewed and accepted'];
  const wave = waveOf(d);
  if ((suffix === 'wave_started' || suffix === 'wave_completed') && wave.index !== undefined) {
    const of = num(d.waveCount) !== undefined ? ` of ${num(d.waveCount)}` : '';
    label = `Wave ${wave.index + 1}${of} ${suffix === 'wave_started' ? 'started' : 'completed'}`;
  }
  const operation = operationInWords(d.operation);
  const id = str(d.changeRequestId) ?? (e.entityType === 'change_request' ? e.entityId : undefined);
  const url = id ? changeRequestUrl(publicUrl, id) : undefined;
  const title = str(d.title) ?? (id ? `Change request ${id}` : 'Change request');
  const author = personName(d.author) ?? '—';
  const targetCount = num(d.targetCount);
  const share = num(d.shareOfTenants);
  const sharePct = share === undefined ? undefined : share <= 1 ? share * 100 : share;
  const irreversible = typeof d.irreversible === 'boolean' ? d.irreversible : undefined;
  const reason = str(d.haltReason) ?? str(d.reason) ?? str(d.comment);
  const incident =
    str(d.incidentRef) ??
    (d.breakGlass && typeof d.breakGlass === 'object'
      ? str((d.breakGlass as Record<string, unknown>).incidentRef)
      : undefined);

  const lines = [url ? `*<${url}|${escapeMrkdwn(title)}>*` : `*${escapeMrkdwn(title)}*`];
  if (breakGlass) {
    const reviewed =
      suffix === 'break_glass_reviewed'
        ? `; reviewed by ${escapeMrkdwn(review.by ?? '—')}: *${escapeMrkdwn(review.outcome ?? '—')}*`
        : '; must be reviewed';
    lines.push(
      `:rotating_light: *Break-glass:* executed without approval${incident ? ` — incident ${escapeMrkdwn(incident)}` : ''}${reviewed}`,
    );
  }
  if (reason) lines.push(`> ${escapeMrkdwn(clip(reason, 500))}`);
  if (str(d.environment)) lines.push(`Environment: \`${escapeMrkdwn(str(d.environment) ?? '')}\``);

  const blast =
    targetCount === undefined
      ? '—'
      : `${targetCount} target${targetCount === 1 ? '' : 's'}${sharePct === undefined ? '' : ` · ${Math.round(sharePct * 10) / 10} % of tenants`}`;
  const fields: TextObject[] = [
    { type: 'mrkdwn', text: `*Author*\n${escapeMrkdwn(author)}` },
    { type: 'mrkdwn', text: `*Targets*\n${targetCount ?? '—'}` },
    { type: 'mrkdwn', text: `*Blast radius*\n${blast}` },
    {
      type: 'mrkdwn',
      text: `*Reversible*\n${irreversible === undefined ? '—' : irreversible ? ':warning: No — irreversible' : 'Yes'}`,
    },
    { type: 'mrkdwn', text: `*Status*\n${escapeMrkdwn(str(d.status) ?? suffix)}` },
  ];
  if (wave.size !== undefined) fields.push({ type: 'mrkdwn', text: `*Wave size*\n${wave.size}` });

  const headline = `${emoji} ${label}: ${operation}`;
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(headline, 150), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: clip(lines.join('\n'), 3000) } },
    { type: 'section', fields },
  ];
  if (url) {
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: 'open_change_request',
          text: {
            type: 'plain_text',
            text: suffix === 'submitted' ? 'Review and approve' : 'Open change request',
          },
          url,
          ...(suffix === 'submitted' || suffix === 'halted' ? { style: 'primary' } : {}),
        },
      ],
    });
  }
  blocks.push(context(e));
  const text = [
    `${label}: ${operation} — "${escapeMrkdwn(title)}"`,
    `by ${escapeMrkdwn(author)}`,
    targetCount === undefined ? undefined : `${targetCount} target${targetCount === 1 ? '' : 's'}`,
    irreversible ? 'IRREVERSIBLE' : undefined,
    breakGlass ? 'BREAK-GLASS' : undefined,
    url ? `<${url}|Open>` : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
  return { text, blocks };
}

function context(e: WebhookEvent): SlackBlock {
  return {
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `Wavegate · \`${escapeMrkdwn(e.type)}\` · ${e.occurredAt.toISOString()} · event ${e.id}`,
      },
    ],
  };
}

function genericMessage(e: WebhookEvent): SlackPayload {
  const summary = `\`${escapeMrkdwn(e.entityType)}\` ${escapeMrkdwn(e.entityId)} by ${escapeMrkdwn(e.actor)}`;
  return {
    text: `Wavegate: ${e.type} — ${summary}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: clip(`Wavegate: ${e.type}`, 150), emoji: true } },
      { type: 'section', text: { type: 'mrkdwn', text: summary } },
      context(e),
    ],
  };
}

/** The body bytes for a subscription's format. */
export function formatBody(format: 'slack' | 'json', e: WebhookEvent, publicUrl: string): string {
  return JSON.stringify(format === 'slack' ? slackPayload(e, publicUrl) : jsonPayload(e));
}
