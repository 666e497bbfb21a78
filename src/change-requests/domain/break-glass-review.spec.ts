import { DomainError, ErrorKind } from '../../common/errors';
import {
  BREAK_GLASS_REVIEW_ERROR_CODES as CODES,
  BREAK_GLASS_REVIEW_NOTE_MAX,
  awaitsBreakGlassReview,
  breakGlassReviewRefusal,
  decideBreakGlassReview,
} from './break-glass-review';
import {
  Actor,
  CrSnapshot,
  DEFAULT_PENDING_TTL_MS,
  DEFAULT_START_WINDOW_MS,
  SYSTEM_ACTOR,
  decide,
} from './lifecycle';

const T0 = new Date('2024-05-01T09:00:00.000Z');
const LATER = new Date('2024-05-01T11:00:00.000Z');

const root: Actor = { id: 'root', roles: ['admin'] };
const rootChecker: Actor = { id: 'root', roles: ['admin', 'checker'] };
const bob: Actor = { id: 'bob', roles: ['checker'] };
const carol: Actor = { id: 'carol', roles: ['checker'] };
const alice: Actor = { id: 'alice', roles: ['maker', 'checker'] };
const mallory: Actor = { id: 'mallory', roles: ['maker', 'checker'] };
const otherAdmin: Actor = { id: 'ada', roles: ['admin'] };
const viewer: Actor = { id: 'vic', roles: ['viewer'] };

function crAfterBreakGlass(overrides: Partial<CrSnapshot> = {}): CrSnapshot {
  const pending: CrSnapshot = {
    status: 'pending',
    authorId: 'alice',
    editorIds: ['mallory'],
    revision: 2,
    planHash: 'a'.repeat(64),
    requiredApprovals: 1,
    approvals: [],
    submittedAt: T0,
    pendingTtlMs: DEFAULT_PENDING_TTL_MS,
    startWindowMs: DEFAULT_START_WINDOW_MS,
    operationRisk: 'reversible',
  };
  return {
    ...decide(pending, { type: 'break_glass_execute', incidentRef: 'INC-9' }, root, T0).next,
    ...overrides,
  };
}

function refusal(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error('expected a DomainError');
}

const expectRefused = (fn: () => unknown, kind: ErrorKind, code: string): DomainError => {
  const e = refusal(fn);
  expect({ kind: e.kind, code: e.code }).toEqual({ kind, code });
  return e;
};

describe('break-glass review after the fact (design rule 8)', () => {
  const ok = { outcome: 'accepted', note: '  Checked the incident timeline; the kill was needed.  ' };

  it('records who reviewed, when, the outcome and the trimmed note, and keeps the break-glass record', () => {
    const cr = crAfterBreakGlass();
    const d = decideBreakGlassReview(cr, ok, bob, LATER);
    expect(d.event).toBe('change_request.break_glass_reviewed');
    expect(d.review).toEqual({
      by: 'bob',
      at: LATER,
      outcome: 'accepted',
      note: 'Checked the incident timeline; the kill was needed.',
    });
    expect(d.breakGlass).toEqual({ by: 'root', incidentRef: 'INC-9', at: T0, review: d.review });
    expect(awaitsBreakGlassReview(cr)).toBe(true);
    expect(awaitsBreakGlassReview({ breakGlass: d.breakGlass })).toBe(false);
  });

  it('accepts "concerns" as an outcome', () => {
    const d = decideBreakGlassReview(
      crAfterBreakGlass(),
      { outcome: 'concerns', note: 'No incident' },
      bob,
      LATER,
    );
    expect(d.review.outcome).toBe('concerns');
  });

  it('is allowed whatever the status after the execution', () => {
    for (const status of ['running', 'paused', 'halted', 'completed', 'aborted', 'rolled_back'] as const) {
      expect(decideBreakGlassReview(crAfterBreakGlass({ status }), ok, bob, LATER).review.by).toBe('bob');
    }
  });

  it('never lets the admin who broke the glass review it, even with the checker role', () => {
    const e = expectRefused(
      () => decideBreakGlassReview(crAfterBreakGlass(), ok, rootChecker, LATER),
      'forbidden',
      CODES.SELF_REVIEW,
    );
    expect(e.message).toContain('another checker');
  });

  it('never lets the author or an editor review it', () => {
    expectRefused(
      () => decideBreakGlassReview(crAfterBreakGlass(), ok, alice, LATER),
      'forbidden',
      CODES.SELF_REVIEW,
    );
    expectRefused(
      () => decideBreakGlassReview(crAfterBreakGlass(), ok, mallory, LATER),
      'forbidden',
      CODES.SELF_REVIEW,
    );
  });

  it('needs the checker role: not another admin, a viewer or the system', () => {
    for (const who of [otherAdmin, viewer, SYSTEM_ACTOR]) {
      expectRefused(
        () => decideBreakGlassReview(crAfterBreakGlass(), ok, who, LATER),
        'forbidden',
        CODES.NOT_A_CHECKER,
      );
    }
  });

  it('refuses a CR that did not go through break-glass (409)', () => {
    const cr = { ...crAfterBreakGlass(), breakGlass: undefined };
    expectRefused(() => decideBreakGlassReview(cr, ok, bob, LATER), 'conflict', CODES.NOT_BREAK_GLASS);
  });

  it('is recorded once: a second review is refused, naming the first', () => {
    const first = decideBreakGlassReview(crAfterBreakGlass(), ok, bob, LATER);
    const reviewed = crAfterBreakGlass({ breakGlass: first.breakGlass });
    const e = expectRefused(
      () => decideBreakGlassReview(reviewed, { outcome: 'concerns', note: 'x' }, carol, LATER),
      'conflict',
      CODES.ALREADY_REVIEWED,
    );
    expect(e.message).toContain('bob');
    // and the same reviewer cannot redo it either
    expectRefused(() => decideBreakGlassReview(reviewed, ok, bob, LATER), 'conflict', CODES.ALREADY_REVIEWED);
  });

  it('needs a known outcome and a non-empty, bounded note, naming the field', () => {
    const cr = crAfterBreakGlass();
    const bad = expectRefused(
      () => decideBreakGlassReview(cr, { outcome: 'fine', note: 'x' }, bob, LATER),
      'unprocessable',
      CODES.OUTCOME_INVALID,
    );
    expect(bad.details?.[0].field).toBe('outcome');
    for (const note of ['', '   ', 'x'.repeat(BREAK_GLASS_REVIEW_NOTE_MAX + 1)]) {
      const e = expectRefused(
        () => decideBreakGlassReview(cr, { outcome: 'accepted', note }, bob, LATER),
        'unprocessable',
        CODES.NOTE_REQUIRED,
      );
      expect(e.details?.[0].field).toBe('note');
    }
    expect(
      decideBreakGlassReview(
        cr,
        { outcome: 'accepted', note: 'x'.repeat(BREAK_GLASS_REVIEW_NOTE_MAX) },
        bob,
        LATER,
      ).review.note,
    ).toHaveLength(BREAK_GLASS_REVIEW_NOTE_MAX);
  });

  it('checks who you are before the state and the state before the input', () => {
    // a viewer learns nothing about the CR; the break-glass admin hears about the rule, not the empty note
    expectRefused(
      () => decideBreakGlassReview({ ...crAfterBreakGlass(), breakGlass: undefined }, ok, viewer, LATER),
      'forbidden',
      CODES.NOT_A_CHECKER,
    );
    expectRefused(
      () =>
        decideBreakGlassReview(crAfterBreakGlass(), { outcome: 'accepted', note: '' }, rootChecker, LATER),
      'forbidden',
      CODES.SELF_REVIEW,
    );
    expect(breakGlassReviewRefusal(crAfterBreakGlass(), bob)).toBeNull();
  });

  it('survives later lifecycle commands (the review is part of the break-glass record)', () => {
    const reviewed = crAfterBreakGlass({
      breakGlass: decideBreakGlassReview(crAfterBreakGlass(), ok, bob, LATER).breakGlass,
    });
    const paused = decide(reviewed, { type: 'pause' }, bob, LATER).next;
    expect(paused.breakGlass?.review?.by).toBe('bob');
  });
});
