// The people of a change request as its views carry them (issue 15): author, editors, approvers, reviewers (the
// break-glass reviewer) and executor (who started the rollout or broke the glass), each {id, name, email}. The
// actor-id fields the API had before (`author`, `editors`, `approvals[].userId`) stay as they were for existing
// clients; `people` is what a screen or a chat message shows.
import { Person, userActor } from './person';

export interface CrPeopleSource {
  authorId: string;
  editorIds: string[];
  approverIds: string[];
  breakGlass?: { by: string; review?: { by: string } } | null;
  /** The actor of the latest `change_request.started` entry, if it ran. */
  startedBy?: string | null;
}

export interface CrPeople {
  author: Person;
  editors: Person[];
  approvers: Person[];
  reviewers: Person[];
  executor: Person | null;
}

/** Every actor id a CR's people view needs, to resolve them in one query. */
export function crPeopleIds(s: CrPeopleSource): string[] {
  return [
    s.authorId,
    ...s.editorIds,
    ...s.approverIds.map(userActor),
    ...(s.breakGlass ? [s.breakGlass.by, ...(s.breakGlass.review ? [s.breakGlass.review.by] : [])] : []),
    ...(s.startedBy ? [s.startedBy] : []),
  ];
}

export function crPeople(s: CrPeopleSource, names: Map<string, Person>): CrPeople {
  const named = (actor: string): Person => names.get(actor) ?? { id: actor, name: actor, email: null };
  const executor = s.breakGlass?.by ?? s.startedBy ?? null;
  return {
    author: named(s.authorId),
    editors: s.editorIds.map(named),
    approvers: s.approverIds.map((id) => named(userActor(id))),
    reviewers: s.breakGlass?.review ? [named(s.breakGlass.review.by)] : [],
    executor: executor ? named(executor) : null,
  };
}
