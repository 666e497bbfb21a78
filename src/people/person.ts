// A person (or an API token) as every view shows them: the actor id the audit log uses, a name and an email.
// Pure: the helpers turn actor ids into lookups and back, and find `@name` mentions in a text.

export interface Person {
  /** The actor id: `user:<uuid>`, `token:<uuid>` or `system`. */
  id: string;
  name: string;
  email: string | null;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `user:abc` -> {kind: 'user', id: 'abc'}; a bare uuid is a user (older rows); anything else is not a person. */
export function parseActor(actor: string): { kind: 'user' | 'token'; id: string } | null {
  if (actor.startsWith('user:') && UUID_RE.test(actor.slice(5))) return { kind: 'user', id: actor.slice(5) };
  if (actor.startsWith('token:') && UUID_RE.test(actor.slice(6)))
    return { kind: 'token', id: actor.slice(6) };
  if (UUID_RE.test(actor)) return { kind: 'user', id: actor };
  return null;
}

/** The actor id of a user id or of an actor id (idempotent). */
export const userActor = (idOrActor: string): string =>
  idOrActor.startsWith('user:') || idOrActor.startsWith('token:') ? idOrActor : `user:${idOrActor}`;

/** What a view shows for an actor nobody can resolve (a deleted user, `system`). */
export function unknownPerson(actor: string): Person {
  if (actor === 'system' || actor.startsWith('system')) return { id: actor, name: 'Wavegate', email: null };
  const p = parseActor(actor);
  if (!p) return { id: actor, name: actor, email: null };
  return { id: userActor(actor), name: `${p.kind} ${p.id.slice(0, 8)}`, email: null };
}

export interface Mentionable {
  id: string;
  name: string;
  email: string;
}

/**
 * The people a text mentions: `@Full Name` (case-insensitive, the longest name that matches wins, so "@Pat Lee"
 * is not also "@Pat") or `@local-part` of their email. A mention must start the text or follow a non-word
 * character, and end at a non-word character, so "me@example.com" mentions nobody.
 */
export function findMentions(text: string, people: Mentionable[]): Mentionable[] {
  const found = new Map<string, Mentionable>();
  const lower = text.toLowerCase();
  const handles = people
    .flatMap((p) => [
      { p, h: p.name.toLowerCase() },
      { p, h: p.email.toLowerCase().split('@')[0] },
    ])
    .filter((x) => x.h.trim() !== '')
    .sort((a, b) => b.h.length - a.h.length);
  for (let at = lower.indexOf('@'); at >= 0; at = lower.indexOf('@', at + 1)) {
    if (at > 0 && /[\p{L}\p{N}_.+-]/u.test(lower[at - 1])) continue;
    const rest = lower.slice(at + 1);
    const hit = handles.find((x) => rest.startsWith(x.h) && !/[\p{L}\p{N}_]/u.test(rest[x.h.length] ?? ''));
    if (hit) found.set(hit.p.id, hit.p);
  }
  return [...found.values()];
}
