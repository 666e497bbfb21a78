// The bodies a subscription receives (issue 8): `json` is the event itself; `slack` is a Slack incoming-webhook
// message (`text` fallback plus Block Kit `blocks`). Pure: no clock, no config beyond the public URL passed in. The
// shapes are in payload.types.ts.
import {
  APPROVE_ACTION,
  buttonValue,
  REJECT_ACTION,
  REJECT_REASON_ACTION,
  REJECT_REASON_BLOCK,
} from '../../slack/domain/slack-interaction';
import {
  ChangeRequestEventData,
  JsonPayload,
  MessageOptions,
  SlackBlock,
  SlackPayload,
  TextObject,
  WebhookEvent,
} from './payload.types';

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
  commented: ['💬', 'New comment'],
};

// A message showing a pending CR's current plan carries the buttons; these events always carry its plan hash.
const BUTTON_EVENTS = new Set(['submitted', 'edited', 'approval_added']);

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
  return { by: personName(d.people?.reviewBy) ?? personName(r.by), outcome: str(r.outcome) };
}

const names = (v: unknown): string[] =>
  Array.isArray(v) ? v.map(personName).filter((n): n is string => n !== undefined) : [];

/** The event's actor by name: enriched when possible, "Wavegate" for the engine, else the raw actor id. */
function actorName(e: WebhookEvent, d: ChangeRequestEventData): string {
  return personName(d.people?.actor) ?? (e.actor === 'system' ? 'Wavegate' : e.actor);
}

export function changeRequestUrl(publicUrl: string, id: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/ui/change-requests/${encodeURIComponent(id)}`;
}

export function isBreakGlass(data: Record<string, unknown>): boolean {
  return Boolean(data.breakGlass);
}

export function slackPayload(e: WebhookEvent, publicUrl: string, options: MessageOptions = {}): SlackPayload {
  if (e.type.startsWith('change_request.')) return changeRequestMessage(e, publicUrl, options);
  return genericMessage(e);
}

/** The message's emoji and label: the event's headline, or what break-glass, its review or the wave says. */
function headlineOf(suffix: string, breakGlass: boolean, d: ChangeRequestEventData): [string, string] {
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
  return [emoji, label];
}

/** What a change-request message says, read once from the event; any of it may be missing. */
type CrMessage = ReturnType<typeof readMessage>;

function readMessage(e: WebhookEvent, publicUrl: string) {
  const d = e.data as ChangeRequestEventData;
  const suffix = e.type.slice('change_request.'.length);
  const breakGlass = isBreakGlass(e.data);
  const [emoji, label] = headlineOf(suffix, breakGlass, d);
  const id = str(d.changeRequestId) ?? (e.entityType === 'change_request' ? e.entityId : undefined);
  const actor = actorName(e, d);
  const share = num(d.shareOfTenants);
  return {
    suffix,
    breakGlass,
    emoji,
    label,
    operation: operationInWords(d.operation),
    id,
    url: id ? changeRequestUrl(publicUrl, id) : undefined,
    title: str(d.title) ?? (id ? `Change request ${id}` : 'Change request'),
    author: personName(d.people?.author) ?? personName(d.author) ?? '—',
    actor,
    approvers: names(d.people?.approvers),
    commenter:
      personName(d.people?.commentBy) ?? personName(d.people?.actor) ?? personName(d.commentBy) ?? actor,
    mentioned: d.people?.mentions ? names(d.people.mentions) : names(d.mentions),
    planHash: str(d.planHash),
    targetCount: num(d.targetCount),
    sharePct: share === undefined ? undefined : share <= 1 ? share * 100 : share,
    irreversible: typeof d.irreversible === 'boolean' ? d.irreversible : undefined,
    reason: str(d.haltReason) ?? str(d.reason) ?? str(d.comment),
    incident:
      str(d.incidentRef) ??
      (d.breakGlass && typeof d.breakGlass === 'object'
        ? str((d.breakGlass as Record<string, unknown>).incidentRef)
        : undefined),
    review: reviewOf(d),
    wave: waveOf(d),
  };
}

/** The message's text section: the title, who did it, break-glass, the reason and the environment. */
function summaryLines(m: CrMessage, d: ChangeRequestEventData): string[] {
  const { suffix, review, incident } = m;
  const lines = [m.url ? `*<${m.url}|${escapeMrkdwn(m.title)}>*` : `*${escapeMrkdwn(m.title)}*`];
  if (suffix === 'commented') {
    lines.push(
      `*${escapeMrkdwn(m.commenter)}* commented${m.mentioned.length ? `, mentioning ${m.mentioned.map((n) => `*${escapeMrkdwn(n)}*`).join(', ')}` : ''}:`,
    );
  } else {
    lines.push(`By *${escapeMrkdwn(m.actor)}*`);
  }
  if (m.breakGlass) {
    const breaker = personName(d.people?.breakGlassBy);
    const reviewed =
      suffix === 'break_glass_reviewed'
        ? `; reviewed by ${escapeMrkdwn(review.by ?? '—')}: *${escapeMrkdwn(review.outcome ?? '—')}*`
        : '; must be reviewed';
    lines.push(
      `:rotating_light: *Break-glass:* executed without approval${breaker ? ` by ${escapeMrkdwn(breaker)}` : ''}${incident ? ` — incident ${escapeMrkdwn(incident)}` : ''}${reviewed}`,
    );
  }
  if (m.reason) lines.push(`> ${escapeMrkdwn(clip(m.reason, 500))}`);
  if (str(d.environment)) lines.push(`Environment: \`${escapeMrkdwn(str(d.environment) ?? '')}\``);
  return lines;
}

/** The message's fields: author, targets, blast radius, reversibility, status, wave size, approvals, plan. */
function factFields(m: CrMessage, d: ChangeRequestEventData): TextObject[] {
  const { targetCount, sharePct, irreversible, approvers, planHash } = m;
  const blast =
    targetCount === undefined
      ? '—'
      : `${targetCount} target${targetCount === 1 ? '' : 's'}${sharePct === undefined ? '' : ` · ${Math.round(sharePct * 10) / 10} % of tenants`}`;
  const fields: TextObject[] = [
    { type: 'mrkdwn', text: `*Author*\n${escapeMrkdwn(m.author)}` },
    { type: 'mrkdwn', text: `*Targets*\n${targetCount ?? '—'}` },
    { type: 'mrkdwn', text: `*Blast radius*\n${blast}` },
    {
      type: 'mrkdwn',
      text: `*Reversible*\n${irreversible === undefined ? '—' : irreversible ? ':warning: No — irreversible' : 'Yes'}`,
    },
    { type: 'mrkdwn', text: `*Status*\n${escapeMrkdwn(str(d.status) ?? m.suffix)}` },
  ];
  if (m.wave.size !== undefined) fields.push({ type: 'mrkdwn', text: `*Wave size*\n${m.wave.size}` });
  const required = num(d.requiredApprovals);
  if (required !== undefined && m.suffix !== 'commented') {
    const count = num(d.approvalCount) ?? approvers.length;
    fields.push({
      type: 'mrkdwn',
      text: `*Approvals*\n${count} of ${required}${approvers.length ? `: ${approvers.map(escapeMrkdwn).join(', ')}` : ''}`,
    });
  }
  if (planHash) {
    const rev = num(d.revision);
    fields.push({
      type: 'mrkdwn',
      text: `*Plan*\n\`${escapeMrkdwn(planHash.slice(0, 12))}\`${rev === undefined ? '' : ` · revision ${rev}`}`,
    });
  }
  return fields;
}

/** Approve and Reject (with a confirmation of the plan approved), for a pending CR's message. */
function approvalButtons(m: CrMessage): Array<Record<string, unknown>> {
  const value = buttonValue({ id: m.id as string, planHash: m.planHash as string });
  const short = (m.planHash ?? '').slice(0, 12);
  return [
    {
      type: 'button',
      action_id: APPROVE_ACTION,
      style: 'primary',
      text: { type: 'plain_text', text: 'Approve' },
      value,
      confirm: {
        title: { type: 'plain_text', text: 'Approve this plan?' },
        text: {
          type: 'mrkdwn',
          text: clip(
            `You approve plan \`${escapeMrkdwn(short)}\` of *${escapeMrkdwn(m.title)}* as your linked Wavegate user. If the plan changed since this message, nothing is approved.`,
            300,
          ),
        },
        confirm: { type: 'plain_text', text: 'Approve' },
        deny: { type: 'plain_text', text: 'Cancel' },
      },
    },
    {
      type: 'button',
      action_id: REJECT_ACTION,
      style: 'danger',
      text: { type: 'plain_text', text: 'Reject' },
      value,
    },
  ];
}

/** The one-line `text` Slack shows where blocks are not shown (notifications). */
function fallbackText(m: CrMessage): string {
  return [
    `${m.label}: ${m.operation} — "${escapeMrkdwn(m.title)}"`,
    `by ${escapeMrkdwn(m.suffix === 'commented' ? m.commenter : m.actor)}`,
    m.actor === m.author ? undefined : `author ${escapeMrkdwn(m.author)}`,
    m.targetCount === undefined ? undefined : `${m.targetCount} target${m.targetCount === 1 ? '' : 's'}`,
    m.irreversible ? 'IRREVERSIBLE' : undefined,
    m.breakGlass ? 'BREAK-GLASS' : undefined,
    m.url ? `<${m.url}|Open>` : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
}

function changeRequestMessage(e: WebhookEvent, publicUrl: string, options: MessageOptions): SlackPayload {
  const d = e.data as ChangeRequestEventData;
  const m = readMessage(e, publicUrl);
  const { suffix, url } = m;
  const headline = `${m.emoji} ${m.label}: ${m.operation}`;
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(headline, 150), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: clip(summaryLines(m, d).join('\n'), 3000) } },
    { type: 'section', fields: factFields(m, d) },
  ];
  const buttons =
    options.approvalButtons === true &&
    m.id !== undefined &&
    m.planHash !== undefined &&
    str(d.status) === 'pending' &&
    BUTTON_EVENTS.has(suffix);
  if (buttons) {
    // The reason box is read from the payload's `state` when Reject is pressed (lifecycle rule 4 needs a reason).
    blocks.push({
      type: 'input',
      block_id: REJECT_REASON_BLOCK,
      optional: true,
      label: { type: 'plain_text', text: 'Reason (needed to reject)' },
      element: { type: 'plain_text_input', action_id: REJECT_REASON_ACTION, max_length: 3000 },
    });
  }
  if (url) {
    blocks.push({
      type: 'actions',
      elements: [
        ...(buttons ? approvalButtons(m) : []),
        {
          type: 'button',
          action_id: 'open_change_request',
          text: {
            type: 'plain_text',
            text: suffix === 'submitted' ? 'Review and approve' : 'Open change request',
          },
          url,
          ...(!buttons && (suffix === 'submitted' || suffix === 'halted') ? { style: 'primary' } : {}),
        },
      ],
    });
  }
  blocks.push(context(e));
  return { text: fallbackText(m), blocks };
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
export function formatBody(
  format: 'slack' | 'json',
  e: WebhookEvent,
  publicUrl: string,
  options: MessageOptions = {},
): string {
  return JSON.stringify(format === 'slack' ? slackPayload(e, publicUrl, options) : jsonPayload(e));
}
