// The review after the fact of a break-glass execution (DESIGN.md rule 8: "must be reviewed after the fact";
// ADR 0010). Pure, like lifecycle.ts: the service loads the CR, calls decideBreakGlassReview(), and persists
// `breakGlass` (now carrying its review) with the audit entry and the `change_request.break_glass_reviewed` event.
//
// Decisions
// - The review is the approval the emergency skipped, so it follows rule 1: a person with the `checker` role who
//   is neither the admin who broke the glass, nor the author, nor anyone who edited the CR. An admin without the
//   checker role cannot review (as they cannot approve); tokens never can (tokens hold no checker role).
// - It never changes the CR's status and is allowed whatever that status is (running, completed, halted, rolled
//   back, ...): stopping or undoing the change is a separate decision (halt, rollback) the reviewer can take.
// - Exactly one review per break-glass execution: a second one is refused (409), never an overwrite; the audit
//   log keeps the only record of who reviewed and how.
// - Outcome `accepted` (the emergency change was justified) or `concerns` (it was not, or not like this); the note
//   is required in both cases, trimmed, at most BREAK_GLASS_REVIEW_NOTE_MAX characters.
// - Check order, as in lifecycle.ts: who you are (403) -> the CR allows it (409) -> the input (422).
import { DomainError, conflict, forbidden, unprocessable } from '../../common/errors';
import { Actor, BreakGlass, BreakGlassReview, BreakGlassReviewOutcome, CrSnapshot } from './lifecycle';

export const BREAK_GLASS_REVIEW_OUTCOMES: readonly BreakGlassReviewOutcome[] = ['accepted', 'concerns'];
export const BREAK_GLASS_REVIEW_NOTE_MAX = 2000;
export const BREAK_GLASS_REVIEWED_EVENT = 'change_request.break_glass_reviewed' as const;

export const BREAK_GLASS_REVIEW_ERROR_CODES = {
  NOT_A_CHECKER: 'CHANGE_REQUEST.NOT_A_CHECKER',
  SELF_REVIEW: 'CHANGE_REQUEST.BREAK_GLASS_SELF_REVIEW',
  NOT_BREAK_GLASS: 'CHANGE_REQUEST.NOT_BREAK_GLASS',
  ALREADY_REVIEWED: 'CHANGE_REQUEST.BREAK_GLASS_ALREADY_REVIEWED',
  OUTCOME_INVALID: 'CHANGE_REQUEST.BREAK_GLASS_REVIEW_OUTCOME_INVALID',
  NOTE_REQUIRED: 'CHANGE_REQUEST.BREAK_GLASS_REVIEW_NOTE_REQUIRED',
} as const;

export type BreakGlassReviewSubject = Pick<CrSnapshot, 'authorId' | 'editorIds' | 'breakGlass'>;

export interface BreakGlassReviewInput {
  outcome: string;
  note: string;
}

export interface BreakGlassReviewDecision {
  /** The CR's break-glass record with its review set: what the service persists. */
  breakGlass: BreakGlass & { review: BreakGlassReview };
  review: BreakGlassReview;
  event: typeof BREAK_GLASS_REVIEWED_EVENT;
}

/** Throws a DomainError when `actor` may not review (now); otherwise the record to persist. */
export function decideBreakGlassReview(
  cr: BreakGlassReviewSubject,
  input: BreakGlassReviewInput,
  actor: Actor,
  now: Date,
): BreakGlassReviewDecision {
  const refusal = breakGlassReviewRefusal(cr, actor);
  if (refusal) throw refusal;
  const breakGlass = cr.breakGlass as BreakGlass;
  if (!(BREAK_GLASS_REVIEW_OUTCOMES as readonly string[]).includes(input.outcome)) {
    throw unprocessable(
      BREAK_GLASS_REVIEW_ERROR_CODES.OUTCOME_INVALID,
      `outcome: must be one of ${BREAK_GLASS_REVIEW_OUTCOMES.join(', ')}.`,
      [{ field: 'outcome', reason: `must be one of ${BREAK_GLASS_REVIEW_OUTCOMES.join(', ')}` }],
    );
  }
  const note = (input.note ?? '').trim();
  if (!note || note.length > BREAK_GLASS_REVIEW_NOTE_MAX) {
    const reason = note ? `must be at most ${BREAK_GLASS_REVIEW_NOTE_MAX} characters` : 'must not be empty';
    throw unprocessable(
      BREAK_GLASS_REVIEW_ERROR_CODES.NOTE_REQUIRED,
      `note: ${reason}; say what you checked and what you concluded.`,
      [{ field: 'note', reason }],
    );
  }
  const review: BreakGlassReview = {
    by: actor.id,
    at: now,
    outcome: input.outcome as BreakGlassReviewOutcome,
    note,
  };
  return { breakGlass: { ...breakGlass, review }, review, event: BREAK_GLASS_REVIEWED_EVENT };
}

/**
 * Why `actor` may not review this CR's break-glass execution, or null when they may (the input aside). The UI
 * shows the message next to the disabled review form.
 */
export function breakGlassReviewRefusal(cr: BreakGlassReviewSubject, actor: Actor): DomainError | null {
  if (actor.system || !actor.roles.includes('checker')) {
    return forbidden(
      BREAK_GLASS_REVIEW_ERROR_CODES.NOT_A_CHECKER,
      'Reviewing a break-glass execution needs the checker role.',
    );
  }
  const bg = cr.breakGlass;
  if (!bg) {
    return conflict(
      BREAK_GLASS_REVIEW_ERROR_CODES.NOT_BREAK_GLASS,
      'This change request was not executed through break-glass; there is nothing to review after the fact.',
    );
  }
  if (actor.id === bg.by) {
    return forbidden(
      BREAK_GLASS_REVIEW_ERROR_CODES.SELF_REVIEW,
      'You executed this change request through break-glass; another checker must review it (four-eyes rule).',
    );
  }
  if (actor.id === cr.authorId || cr.editorIds.includes(actor.id)) {
    return forbidden(
      BREAK_GLASS_REVIEW_ERROR_CODES.SELF_REVIEW,
      actor.id === cr.authorId
        ? 'You wrote this change request; a checker who did not must review its break-glass execution.'
        : 'You edited this change request; a checker who did not change it must review its break-glass execution.',
    );
  }
  if (bg.review) {
    return conflict(
      BREAK_GLASS_REVIEW_ERROR_CODES.ALREADY_REVIEWED,
      `This break-glass execution was already reviewed by ${bg.review.by} at ${bg.review.at.toISOString()} ` +
        `(${bg.review.outcome}); a review is recorded once and never replaced.`,
      [{ field: 'breakGlass.review', reason: 'already set' }],
    );
  }
  return null;
}

/** Executed through break-glass and not reviewed yet. */
export function awaitsBreakGlassReview(cr: Pick<CrSnapshot, 'breakGlass'>): boolean {
  return Boolean(cr.breakGlass && !cr.breakGlass.review);
}
