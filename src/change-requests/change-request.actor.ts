import { Actor } from './domain/lifecycle';
import { actorId, Principal } from '../common/principal';

/**
 * The lifecycle's view of a caller. People keep their roles. An automation token is a maker (it may create, edit,
 * submit and cancel its own CRs) and never a checker: approving needs a person. Other tokens hold no role here.
 */
export function toActor(p: Principal): Actor {
  if (p.kind === 'user') return { id: actorId(p), roles: p.roles };
  return { id: actorId(p), roles: p.tokenKind === 'automation' ? ['maker'] : [] };
}

/**
 * People who must not approve a CR written by this principal besides the author itself: for a token, the person
 * who created the token (otherwise they could write a CR through their token and approve it themselves).
 */
export function coAuthors(p: Principal): string[] {
  return p.kind === 'token' && p.createdBy.startsWith('user:') ? [p.createdBy] : [];
}
