// What Wavegate reads from Slack's signed requests and what it answers (ADR 0017). Pure: parsing of the slash
// command form and the `block_actions` interaction payload, the button value, the link code, and the ephemeral
// answers in Slack's response format. No Nest, no database.
import { createHash, randomBytes } from 'node:crypto';

export const APPROVE_ACTION = 'wavegate_approve';
export const REJECT_ACTION = 'wavegate_reject';
/** The message's input block where a checker types why they reject (read from the payload's `state`). */
export const REJECT_REASON_BLOCK = 'wavegate_reject_reason';
export const REJECT_REASON_ACTION = 'reason';

/** What an Approve or Reject button carries: the change request and the exact plan hash its message showed. */
export interface ButtonValue {
  id: string;
  planHash: string;
}

export interface SlackAnswer {
  response_type: 'ephemeral';
  replace_original: false;
  text: string;
}

export const ephemeral = (text: string): SlackAnswer => ({
  response_type: 'ephemeral',
  replace_original: false,
  text,
});

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HASH_RE = /^[0-9a-f]{64}$/;
const SLACK_ID_RE = /^[A-Z0-9]{2,32}$/;

export const buttonValue = (v: ButtonValue): string => JSON.stringify({ id: v.id, planHash: v.planHash });

export function parseButtonValue(raw: unknown): ButtonValue | null {
  if (typeof raw !== 'string') return null;
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    if (
      typeof v.id === 'string' &&
      UUID_RE.test(v.id) &&
      typeof v.planHash === 'string' &&
      HASH_RE.test(v.planHash)
    )
      return { id: v.id, planHash: v.planHash };
  } catch {
    // not ours
  }
  return null;
}

export interface SlackPerson {
  teamId: string;
  userId: string;
  teamDomain?: string;
  userName?: string;
}

export type SlashCommand = SlackPerson & { verb: string; argument: string; responseUrl?: string };

/** The slash command's form (`team_id`, `user_id`, `text`, ...); null when it does not name a Slack user. */
export function parseSlashCommand(form: URLSearchParams): SlashCommand | null {
  const teamId = form.get('team_id') ?? '';
  const userId = form.get('user_id') ?? '';
  if (!SLACK_ID_RE.test(teamId) || !SLACK_ID_RE.test(userId)) return null;
  const [verb = '', ...rest] = (form.get('text') ?? '').trim().split(/\s+/);
  return {
    teamId,
    userId,
    teamDomain: form.get('team_domain')?.slice(0, 100) || undefined,
    userName: form.get('user_name')?.slice(0, 100) || undefined,
    verb: verb.toLowerCase(),
    argument: rest.join(' '),
    responseUrl: form.get('response_url') ?? undefined,
  };
}

export type ButtonAction = SlackPerson & {
  action: 'approve' | 'reject';
  value: ButtonValue;
  /** What the checker typed in the reason box of the message (for Reject). */
  reason: string;
  responseUrl?: string;
};

export type ParsedInteraction =
  { kind: 'button'; action: ButtonAction } | { kind: 'ignored'; reason: string };

/** A `block_actions` payload from one of Wavegate's buttons; anything else is `ignored` with why. */
export function parseInteraction(form: URLSearchParams): ParsedInteraction {
  let p: Record<string, unknown>;
  try {
    p = JSON.parse(form.get('payload') ?? '') as Record<string, unknown>;
  } catch {
    return { kind: 'ignored', reason: 'the request has no JSON `payload` field' };
  }
  if (p === null || typeof p !== 'object') return { kind: 'ignored', reason: 'the payload is not an object' };
  if (p.type !== 'block_actions')
    return { kind: 'ignored', reason: `Wavegate does not handle "${String(p.type)}"` };
  const user = (p.user ?? {}) as Record<string, unknown>;
  const team = (p.team ?? {}) as Record<string, unknown>;
  const teamId = String(user.team_id ?? team.id ?? '');
  const userId = String(user.id ?? '');
  if (!SLACK_ID_RE.test(teamId) || !SLACK_ID_RE.test(userId))
    return { kind: 'ignored', reason: 'the payload names no Slack team and user' };
  const actions = Array.isArray(p.actions) ? (p.actions as Record<string, unknown>[]) : [];
  const a = actions.find((x) => x.action_id === APPROVE_ACTION || x.action_id === REJECT_ACTION);
  if (!a) return { kind: 'ignored', reason: 'no Wavegate button was pressed' };
  const value = parseButtonValue(a.value);
  if (!value) return { kind: 'ignored', reason: 'the button carries no change request and plan hash' };
  const state = ((p.state ?? {}) as { values?: Record<string, Record<string, { value?: unknown }>> }).values;
  const typed = state?.[REJECT_REASON_BLOCK]?.[REJECT_REASON_ACTION]?.value;
  return {
    kind: 'button',
    action: {
      teamId,
      userId,
      teamDomain: typeof team.domain === 'string' ? team.domain.slice(0, 100) : undefined,
      userName:
        typeof user.username === 'string'
          ? user.username.slice(0, 100)
          : typeof user.name === 'string'
            ? user.name.slice(0, 100)
            : undefined,
      action: a.action_id === APPROVE_ACTION ? 'approve' : 'reject',
      value,
      reason: typeof typed === 'string' ? typed.trim().slice(0, 5000) : '',
      responseUrl: typeof p.response_url === 'string' ? p.response_url : undefined,
    },
  };
}

// Link codes: 80 random bits in Crockford's base32 (no I, L, O, U: nothing to misread), shown as four groups.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const LINK_CODE_TTL_MS = 10 * 60 * 1000;

export function newLinkCode(): string {
  const bytes = randomBytes(10);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join('-');
}

/** A code as typed (any case, with or without dashes or spaces) -> its canonical form, or null. */
export function normalizeLinkCode(typed: string): string | null {
  const c = typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (!/^[0-9A-HJKMNP-TV-Z]{16}$/.test(c)) return null;
  return c.match(/.{4}/g)!.join('-');
}

export const linkCodeHash = (canonical: string): string =>
  createHash('sha256').update(canonical).digest('hex');

export const shortHash = (h: string): string => h.slice(0, 12);
