import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, errorText, get, post } from '../api';
import { hasRole, useSession } from '../auth';
import { ConfirmDialog, ErrorBox, ProgressBar, StatusBadge } from '../components/ui';
import { TargetTable } from '../components/TargetTable';
import { EditChangeRequest } from '../components/EditChangeRequest';
import { authorOf, duration, isIrreversible, num, operationInWords, pct, plural, sameUser, when } from '../format';
import { Link } from '../router';
import { useWho } from '../who';
import type { Approval, AuditItem, ChangeRequest, Page, Signal, TargetStatus, User, WaveProgress } from '../types';

// States in which the rollout engine reports progress over the SSE stream.
const EXECUTING = new Set(['running', 'paused', 'halted', 'rolling_back', 'completed', 'aborted', 'rolled_back']);
// States in which something can still change: the page follows the CR's event stream (edits, approvals, progress).
const LIVE = new Set(['draft', 'pending', 'approved', 'running', 'paused', 'halted', 'rolling_back']);

// The stream names each event after its outbox type; EventSource only delivers names it listens for.
const STREAM_EVENTS = [
  'progress',
  ...[
    'started', 'paused', 'resumed', 'halted', 'completed', 'aborted', 'rollback_started', 'rolled_back', 'edited',
    'approved', 'approval_added', 'rejected', 'cancelled', 'expired', 'wave_started', 'wave_completed',
    'target_succeeded', 'target_failed', 'target_rolled_back', 'target_rollback_failed', 'rollback_wave_started',
    'rollback_wave_completed', 'signal_received', 'break_glass_reviewed',
  ].map((e) => `change_request.${e}`),
];

// Events about targets and waves change only the progress.
const PROGRESS_EVENTS = new Set(STREAM_EVENTS.filter((e) => e === 'progress' || /\.(target|wave|rollback_wave)_/.test(e)));

type Command = 'execute' | 'pause' | 'resume' | 'abort' | 'rollback' | 'cancel' | 'submit';

export function ChangeRequestPage({ id }: { id: string }) {
  const { user } = useSession();
  const [cr, setCr] = useState<ChangeRequest | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [targets, setTargets] = useState<TargetStatus[]>([]);
  const failed = useMemo(() => targets.filter((x) => x.status === 'failed' || x.status === 'rollback_failed'), [targets]);
  const [history, setHistory] = useState<AuditItem[]>([]);
  const [signals, setSignals] = useState<Signal[]>([]);
  const [streamState, setStreamState] = useState<'off' | 'connecting' | 'live' | 'reconnecting'>('off');
  // The plan the user has in front of them: approving names exactly this hash.
  const [reviewed, setReviewed] = useState<{ hash: string; revision: number } | null>(null);

  const statuses = useMemo(() => new Map(targets.map((t) => [`${t.type}:${t.id}`, t])), [targets]);

  // `progress` re-reads only the rollout's progress (small) and keeps the plan; `full` re-reads the whole CR, and keeps
  // the same plan object while the plan hash is unchanged so a 10,000-row table is not rebuilt on every event.
  const crRef = useRef<ChangeRequest | null>(null);
  const seq = useRef(0);
  const load = useCallback(async (kind: 'full' | 'progress' = 'full') => {
    // Loads overlap (a button's own refresh and the stream's); only the latest one started may show its answer.
    const mine = ++seq.current;
    try {
      const prev = crRef.current;
      let next: ChangeRequest | undefined;
      if (kind === 'progress' && prev) {
        const p = await get<Partial<ChangeRequest>>(`/api/change-requests/${encodeURIComponent(id)}/progress`);
        next = { ...prev, ...p, id: prev.id };
      }
      // A new status means more than progress changed (approvals, reasons, commands): read the whole CR.
      if (kind === 'full' || !prev || next!.status !== prev.status) {
        next = await get<ChangeRequest>(`/api/change-requests/${encodeURIComponent(id)}`);
        if (prev?.plan && prev.planHash === next.planHash) next = { ...next, plan: prev.plan };
        // The lifecycle and the waves; one line per target would bury them (targets are in the table).
        get<Page<AuditItem>>(`/api/audit?entityType=change_request&entityId=${encodeURIComponent(id)}&limit=500`)
          .then((h) => setHistory(h.items.filter((a) => !/\.target_/.test(a.action))))
          .catch(() => undefined);
      }
      if (!next || mine !== seq.current) return;
      crRef.current = next;
      setCr(next);
      setReviewed((r) => r ?? { hash: next.planHash, revision: next.revision });
      setError(null);
      // The signals that concern this rollout, by the rule the halt policy applies (server side).
      if (EXECUTING.has(next.status)) {
        get<{ items: Signal[] }>(`/api/change-requests/${encodeURIComponent(id)}/signals`)
          .then((r) => setSignals(r.items))
          .catch(() => undefined);
      }
      // Per-target status: every target of a small plan (one request), only the failed ones of a large plan.
      const count = next.plan?.summary.targetCount ?? next.targetCount ?? 0;
      if (EXECUTING.has(next.status) && count <= 1000) {
        const all = await get<Page<TargetStatus>>(`/api/change-requests/${encodeURIComponent(id)}/targets?limit=1000`);
        setTargets(all.items);
      } else if ((next.progress?.failed ?? 0) > 0) {
        const f = await get<Page<TargetStatus>>(`/api/change-requests/${encodeURIComponent(id)}/targets?status=failed&limit=1000`);
        setTargets(f.items);
      }
    } catch (e) {
      setError(errorText(e));
    }
  }, [id]);

  useEffect(() => {
    void load('full');
  }, [load]);

  // Live updates: the SSE stream says something changed; re-read at most every 500 ms (only the progress when the
  // events are about targets and waves).
  const status = cr?.status;
  const timer = useRef<number | null>(null);
  const pendingKind = useRef<'full' | 'progress'>('progress');
  useEffect(() => {
    if (!status || !LIVE.has(status)) {
      setStreamState('off');
      return;
    }
    let live = false;
    const refresh = (kind: 'full' | 'progress') => {
      if (kind === 'full') pendingKind.current = 'full';
      if (timer.current !== null) return;
      timer.current = window.setTimeout(() => {
        timer.current = null;
        const k = pendingKind.current;
        pendingKind.current = 'progress';
        void load(k);
      }, 500);
    };
    setStreamState('connecting');
    const es = new EventSource(`/api/change-requests/${encodeURIComponent(id)}/stream`);
    es.onopen = () => {
      live = true;
      setStreamState('live');
    };
    es.onmessage = () => refresh('full');
    for (const name of STREAM_EVENTS) es.addEventListener(name, () => refresh(PROGRESS_EVENTS.has(name) ? 'progress' : 'full'));
    es.onerror = () => {
      live = false;
      setStreamState('reconnecting');
    };
    // A safety net while the stream reconnects: the page never shows stale progress for long.
    const poll = window.setInterval(() => {
      if (!live) void load(EXECUTING.has(status) ? 'progress' : 'full');
    }, 5_000);
    return () => {
      es.close();
      window.clearInterval(poll);
      if (timer.current !== null) window.clearTimeout(timer.current);
      timer.current = null;
    };
  }, [status, id, load]);

  if (error && !cr) {
    return (
      <section>
        <h1>Change request</h1>
        <ErrorBox error={error} />
        <Link to="/">Back to the inbox</Link>
      </section>
    );
  }
  if (!cr) return <p className="loading">Loading change request…</p>;

  return (
    <article className="cr-page" aria-labelledby="cr-title">
      <p className="crumbs">
        <Link to="/">Inbox</Link> › {cr.id.slice(0, 8)}
      </p>
      <div className="page-head">
        <h1 id="cr-title">{cr.title}</h1>
        <StatusBadge status={cr.status} />
      </div>
      <ErrorBox error={error} />
      <Summary cr={cr} />
      {cr.breakGlass && <BreakGlassReviewPanel cr={cr} onChanged={load} />}
      <ApprovalPanel cr={cr} user={user} history={history} reviewed={reviewed} onReviewed={() => setReviewed({ hash: cr.planHash, revision: cr.revision })} onChanged={load} />
      {(EXECUTING.has(cr.status) || cr.status === 'approved') && (
        <ExecutionPanel cr={cr} user={user} failed={failed} signals={signals} streamState={streamState} onChanged={load} />
      )}
      {cr.plan && (
        <section aria-labelledby="targets-title" className="card">
          <h2 id="targets-title">Targets</h2>
          <TargetTable plan={cr.plan} statuses={statuses} />
        </section>
      )}
      <History items={history} />
    </article>
  );
}

function Summary({ cr }: { cr: ChangeRequest }) {
  const plan = cr.plan;
  const irreversible = isIrreversible(cr);
  const s = plan?.summary;
  const keyTargets = useMemo(() => {
    if (!plan) return [];
    // Customers, not targets: an installation's name is "<tenant name> / <app name>".
    const out = new Map<string, string>();
    for (const w of plan.waves)
      for (const t of w.targets)
        if (t.tier === 'key') out.set(t.tenantId ?? t.id, t.type === 'installation' ? t.name.split(' / ')[0] : t.name);
    return [...out.values()];
  }, [plan]);
  const halt = plan?.haltPolicy;
  const who = useWho();
  const authorLabel = who(authorOf(cr).id);
  const waveSizes = s?.waveSizes ?? plan?.waves.map((w) => w.targets.length) ?? [];
  return (
    <section className="card summary" aria-labelledby="summary-title" data-testid="cr-summary">
      <h2 id="summary-title" className="visually-hidden">
        Summary
      </h2>
      <p className="op-words" data-testid="op-words">
        {operationInWords(cr)}
      </p>
      {irreversible ? (
        <div className="irreversible-banner" role="note" data-testid="irreversible">
          <strong>IRREVERSIBLE.</strong> Once a target is done it cannot be undone or rolled back; the data is gone for good.
          {cr.requiredApprovals > 1 ? ` Needs ${cr.requiredApprovals} approvers.` : ''}
        </div>
      ) : (
        <div className="reversible-note" data-testid="reversible">
          Reversible{plan?.reverseOperation ? ` (undone by ${plan.reverseOperation})` : ''}: completed targets can be rolled back.
        </div>
      )}
      <dl className="facts">
        <div>
          <dt>Blast radius</dt>
          <dd data-testid="blast-radius">
            {plan?.targetType === 'flag' ? (
              `${plural(s?.targetCount ?? 1, 'flag configuration')}: every tenant evaluated by it${plan.params && typeof plan.params.environment === 'string' ? ` in ${plan.params.environment}` : ''}`
            ) : (
              <>
            {plural(s?.tenantCount ?? s?.targetCount ?? cr.tenantCount ?? 0, 'tenant')} ({pct(s?.shareOfTenants)} of {num(s?.activeTenants)} active)
            {s && s.targetCount !== (s.tenantCount ?? s.targetCount) ? `, ${plural(s.targetCount, 'target')}` : ''}
              </>
            )}
          </dd>
        </div>
        <div>
          <dt>Tiers</dt>
          <dd>
            {s
              ? Object.entries(s.byTier)
                  .map(([k, n]) => `${k} ${num(n)}`)
                  .join(' · ')
              : '—'}
          </dd>
        </div>
        <div>
          <dt>Regions</dt>
          <dd>
            {s?.byRegion
              ? Object.entries(s.byRegion)
                  .sort((a, b) => b[1] - a[1])
                  .map(([k, n]) => `${k} ${num(n)}`)
                  .join(' · ')
              : '—'}
          </dd>
        </div>
        <div>
          <dt>Key customers</dt>
          <dd data-testid="key-customers" className={keyTargets.length ? 'warn' : undefined}>
            {keyTargets.length === 0
              ? 'none touched'
              : `${num(keyTargets.length)} touched: ${keyTargets.slice(0, 8).join(', ')}${keyTargets.length > 8 ? `, and ${num(keyTargets.length - 8)} more` : ''} (last waves)`}
          </dd>
        </div>
        <div>
          <dt>Waves</dt>
          <dd>
            {waveSizes.length} ({waveSizes.slice(0, 8).map(num).join(', ')}
            {waveSizes.length > 8 ? ', …' : ''}) · bake {duration(plan?.waveSettings?.bakeSeconds)} between waves
          </dd>
        </div>
        <div>
          <dt>Halt policy</dt>
          <dd>
            {halt
              ? `any failure in the first ${halt.strictWaves ?? 2} waves; then more than ${halt.maxFailures ?? 0} failures or ${pct(halt.maxFailureRate)} in a wave (after ${halt.minSample ?? '?'} targets); ${halt.maxErrorSignals ?? 1} error signal${(halt.maxErrorSignals ?? 1) === 1 ? '' : 's'} within ${duration(halt.signalWindowSeconds)}`
              : '—'}
          </dd>
        </div>
        <div>
          <dt>Mode</dt>
          <dd className="mono">
            {cr.operation} · {plan?.mode ?? '—'}
          </dd>
        </div>
        <div>
          <dt>Justification</dt>
          <dd className="prewrap">{cr.justification}</dd>
        </div>
        <div>
          <dt>Ticket</dt>
          <dd>{cr.ticket ?? '—'}</dd>
        </div>
        <div>
          <dt>Author</dt>
          <dd data-testid="author">{authorLabel}</dd>
        </div>
        <div>
          <dt>Revision</dt>
          <dd data-testid="revision">
            {cr.revision} · plan <span className="mono">{cr.planHash.slice(0, 12)}</span>
          </dd>
        </div>
        {cr.scheduledAt && (
          <div>
            <dt>Scheduled</dt>
            <dd>{when(cr.scheduledAt)}</dd>
          </div>
        )}
        {cr.breakGlass && (
          <div>
            <dt>Emergency start</dt>
            <dd className="warn">
              by {who(cr.breakGlass.by)} for incident {cr.breakGlass.incidentRef} at {when(cr.breakGlass.at)}:{' '}
              {cr.breakGlass.review ? `reviewed (${cr.breakGlass.review.outcome})` : 'review required'}
            </dd>
          </div>
        )}
      </dl>
      {(s?.excludedBySelector ?? 0) > 0 && (
        <p className="muted">{plural(s?.excludedBySelector ?? 0, 'target')} matched the selector but are not eligible and are not in the plan.</p>
      )}
      {cr.operation === 'flag.update' && plan?.params && <FlagDiff params={plan.params} />}
    </section>
  );
}

const REVIEW_OUTCOME_LABEL = { accepted: 'Accepted: the emergency change was justified', concerns: 'Concerns: it was not, or not like this' } as const;

/** Design rule 8: a break-glass execution must be reviewed after the fact by another checker (ADR 0010). */
function BreakGlassReviewPanel(props: { cr: ChangeRequest; onChanged: () => Promise<void> }) {
  const { cr } = props;
  const who = useWho();
  const bg = cr.breakGlass;
  const [outcome, setOutcome] = useState<'accepted' | 'concerns'>('accepted');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!bg) return null;
  const access = cr.breakGlassReviewAccess;
  const review = bg.review;
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      await post(`/api/change-requests/${cr.id}/break-glass/review`, { outcome, note: note.trim() });
      setNote('');
      await props.onChanged();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="bg-review-title" className="card" data-testid="break-glass-review">
      <div className={review ? 'notice' : 'halt-banner'} role={review ? undefined : 'alert'}>
        <strong>Break-glass:</strong> executed without approval by {who(bg.by)} for incident {bg.incidentRef} at {when(bg.at)}.{' '}
        {review ? 'Reviewed after the fact.' : 'It must be reviewed after the fact by a checker who did not run, write or edit it.'}
      </div>
      <h2 id="bg-review-title">Break-glass review</h2>
      {review ? (
        <div className={review.outcome === 'concerns' ? 'notice warn' : 'notice ok'} data-testid="break-glass-review-done">
          <p>
            <strong>{review.outcome === 'concerns' ? 'Concerns raised' : 'Accepted'}</strong> by {who(review.by)} at {when(review.at)}
          </p>
          <p className="note">{review.note}</p>
        </div>
      ) : access?.allowed ? (
        <form
          className="decide"
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <fieldset>
            <legend>Outcome</legend>
            {(['accepted', 'concerns'] as const).map((o) => (
              <label key={o} className="radio">
                <input type="radio" name="bg-outcome" value={o} checked={outcome === o} onChange={() => setOutcome(o)} /> {REVIEW_OUTCOME_LABEL[o]}
              </label>
            ))}
          </fieldset>
          <label className="field">
            <span>Note (required: what you checked and what you concluded)</span>
            <textarea value={note} maxLength={2000} rows={3} onChange={(e) => setNote(e.target.value)} />
          </label>
          <div className="actions">
            <button type="submit" className="primary" disabled={busy || note.trim() === ''}>
              Record review
            </button>
          </div>
          {note.trim() === '' && <p className="why">Write a note to record the review.</p>}
        </form>
      ) : (
        <p className="why" data-testid="break-glass-review-why">
          You cannot review it: {access?.reason ?? 'reviewing needs the checker role.'}
        </p>
      )}
      <ErrorBox error={error} />
    </section>
  );
}

function FlagDiff({ params }: { params: Record<string, unknown> }) {
  const before = params.before ?? params.current ?? null;
  const after = params.after ?? params.change ?? params;
  const lines = (v: unknown) => JSON.stringify(v, null, 2).split('\n');
  const a = before === null ? [] : lines(before);
  const b = lines(after);
  const aset = new Set(a);
  const bset = new Set(b);
  return (
    <div className="diff" aria-label="Flag configuration before and after">
      <h3>Flag configuration</h3>
      <div className="diff-cols">
        <pre aria-label="Before">{a.length ? a.map((l, i) => <div key={i} className={bset.has(l) ? '' : 'del'}>{l}</div>) : '(as it is now)'}</pre>
        <pre aria-label="After">
          {b.map((l, i) => (
            <div key={i} className={aset.has(l) || !a.length ? '' : 'add'}>
              {l}
            </div>
          ))}
        </pre>
      </div>
    </div>
  );
}

const approverOf = (a: Approval): string => {
  if (a.user && typeof a.user === 'object') return a.user.id;
  return (typeof a.user === 'string' ? a.user : a.userId) ?? '';
};
const approverLabel = (a: Approval, who: (id: string) => string): string =>
  (a.user && typeof a.user === 'object' ? (a.user.name ?? a.user.email) : undefined) ?? a.name ?? who(approverOf(a));

function ApprovalPanel(props: { cr: ChangeRequest; user: User; history: AuditItem[]; reviewed: { hash: string; revision: number } | null; onReviewed: () => void; onChanged: () => Promise<void> }) {
  const { cr, user } = props;
  const who = useWho();
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<'reject' | 'cancel' | 'submit' | null>(null);
  const [editing, setEditing] = useState(false);

  const current = cr.approvals.filter((a) => a.planHash === cr.planHash && a.voided !== true && a.valid !== false);
  const voided = [...(cr.voidedApprovals ?? []), ...cr.approvals.filter((a) => !current.includes(a))];
  // The latest edit's audit entry says how many approvals it voided.
  const lastEdit = props.history.find((h) => h.action === 'change_request.edited');
  const voidedByEdit = Number((lastEdit?.data as { voidedApprovals?: number } | undefined)?.voidedApprovals ?? 0);
  const offered = cr.availableCommands ?? cr.allowedActions;
  const author = authorOf(cr);
  const isAuthor = sameUser(author.id, user.id);
  const isEditor = (cr.editors ?? cr.editorIds ?? []).some((e) => sameUser(e, user.id));
  const alreadyApproved = current.some((a) => sameUser(approverOf(a), user.id));
  // Only someone who could approve needs to be told the plan moved under them (not its author or editors).
  const stale =
    hasRole(user, 'checker') &&
    !isAuthor &&
    !isEditor &&
    props.reviewed !== null &&
    (props.reviewed.hash !== cr.planHash || props.reviewed.revision !== cr.revision);

  // The first reason that applies, in the order the service checks them (who you are, the state, the plan).
  let approveBlocked: string | null = null;
  if (isAuthor) approveBlocked = 'You wrote this change request: a second person must approve it.';
  else if (isEditor) approveBlocked = 'You edited this change request: someone who did not change it must approve it.';
  else if (!hasRole(user, 'checker')) approveBlocked = `Approving needs the checker role; you have ${user.roles.join(', ') || 'no roles'}.`;
  else if (cr.status !== 'pending') approveBlocked = `Only a change request awaiting approval can be approved; this one is ${cr.status}.`;
  else if (stale) approveBlocked = `The plan changed while you were reading it (now revision ${cr.revision}); review the new plan first.`;
  else if (alreadyApproved) approveBlocked = `You already approved revision ${cr.revision}.`;
  else if (offered && !offered.includes('approve')) approveBlocked = 'The service does not allow you to approve it now (it may have expired).';

  let rejectBlocked: string | null = null;
  if (!hasRole(user, 'checker')) rejectBlocked = `Rejecting needs the checker role; you have ${user.roles.join(', ') || 'no roles'}.`;
  else if (cr.status !== 'pending' && cr.status !== 'approved') rejectBlocked = `Only a pending or approved change request can be rejected; this one is ${cr.status}.`;

  const act = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      setComment('');
      setConfirm(null);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 409 ? `${errorText(e)}\nThe page has been refreshed with the current plan.` : errorText(e));
      setConfirm(null);
    } finally {
      setBusy(false);
      await props.onChanged();
    }
  };
  const approve = () => act(() => post(`/api/change-requests/${cr.id}/approve`, { planHash: props.reviewed?.hash ?? cr.planHash, ...(comment.trim() ? { comment: comment.trim() } : {}) }));

  const canCancel = (isAuthor || hasRole(user, 'admin')) && ['draft', 'pending', 'approved'].includes(cr.status);
  const canSubmit = cr.status === 'draft' && hasRole(user, 'maker', 'admin');
  const canEdit = (cr.status === 'draft' || cr.status === 'pending') && hasRole(user, 'maker', 'admin');

  return (
    <section className="card" aria-labelledby="approvals-title">
      <h2 id="approvals-title">Approvals</h2>
      <p data-testid="quorum">
        {num(current.length)} of {num(cr.requiredApprovals)} required approval{cr.requiredApprovals === 1 ? '' : 's'} on revision {cr.revision}
        {cr.approvalReasons?.length ? ` (${cr.approvalReasons.join('; ')})` : ''}
      </p>
      {current.length > 0 && (
        <ul className="approvals">
          {current.map((a, i) => (
            <li key={i}>
              ✔ <strong>{approverLabel(a, who)}</strong> approved plan <span className="mono">{a.planHash.slice(0, 12)}</span> at {when(a.at)}
              {a.comment ? `: “${a.comment}”` : ''}
            </li>
          ))}
        </ul>
      )}
      {(voided.length > 0 || voidedByEdit > 0 || (cr.revision > 1 && current.length === 0 && cr.status === 'pending')) && (
        <div className="notice warn" role="status" data-testid="voided">
          {voided.length + voidedByEdit > 0
            ? `${plural(voided.length + voidedByEdit, 'earlier approval')} voided: the change request was edited to revision ${cr.revision}, so the plan must be approved again. `
            : `Edited to revision ${cr.revision}: any approval of an earlier revision was voided. `}
          {voided.map((a) => approverLabel(a, who)).join(', ')}
        </div>
      )}
      {stale && (
        <div className="notice warn" role="alert">
          This change request was edited while you had it open: revision {cr.revision} has a new plan ({cr.planHash.slice(0, 12)}). Check the summary and targets
          again.{' '}
          <button type="button" onClick={props.onReviewed}>
            I have reviewed revision {cr.revision}
          </button>
        </div>
      )}
      {cr.status === 'rejected' && cr.statusReason && <p className="notice">Rejected: {cr.statusReason}</p>}
      {cr.status === 'expired' && cr.statusReason && <p className="notice">{cr.statusReason}</p>}
      {(cr.status === 'pending' || cr.status === 'approved') && (
        <div className="decide">
          <label className="field">
            <span>Comment (required to reject)</span>
            <textarea value={comment} onChange={(e) => setComment(e.target.value)} rows={2} />
          </label>
          <div className="actions">
            <button type="button" className="primary" disabled={busy || approveBlocked !== null} aria-describedby="approve-why" onClick={() => void approve()}>
              Approve revision {cr.revision}
            </button>
            <button
              type="button"
              className="danger"
              disabled={busy || rejectBlocked !== null || comment.trim() === ''}
              aria-describedby="reject-why"
              onClick={() => setConfirm('reject')}
            >
              Reject
            </button>
          </div>
          {approveBlocked && (
            <p id="approve-why" className="why" data-testid="approve-why">
              Approve is disabled: {approveBlocked}
            </p>
          )}
          {(rejectBlocked || comment.trim() === '') && (
            <p id="reject-why" className="why">
              {rejectBlocked ? `Reject is disabled: ${rejectBlocked}` : 'Write a comment to reject: the author needs to know why.'}
            </p>
          )}
        </div>
      )}
      <div className="actions">
        {canSubmit && (
          <button type="button" className="primary" disabled={busy} onClick={() => setConfirm('submit')}>
            Submit for approval
          </button>
        )}
        {canEdit && !editing && (
          <button type="button" disabled={busy} onClick={() => setEditing(true)}>
            Edit
          </button>
        )}
        {canCancel && (
          <button type="button" disabled={busy} onClick={() => setConfirm('cancel')}>
            Cancel change request
          </button>
        )}
      </div>
      <ErrorBox error={error} />
      {editing && (
        <EditChangeRequest
          cr={cr}
          onDone={(saved) => {
            setEditing(false);
            if (saved) void props.onChanged();
          }}
        />
      )}
      <ConfirmDialog
        open={confirm === 'reject'}
        title={`Reject “${cr.title}”?`}
        confirmLabel="Reject"
        danger
        busy={busy}
        onCancel={() => setConfirm(null)}
        onConfirm={() => void act(() => post(`/api/change-requests/${cr.id}/reject`, { comment: comment.trim() }))}
      >
        <p>One rejection rejects the change request for good. Your comment: “{comment.trim()}”</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === 'cancel'}
        title={`Cancel “${cr.title}”?`}
        confirmLabel="Cancel change request"
        danger
        busy={busy}
        onCancel={() => setConfirm(null)}
        onConfirm={() => void act(() => post(`/api/change-requests/${cr.id}/cancel`, {}))}
      >
        <p>A cancelled change request cannot be submitted again.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === 'submit'}
        title="Submit for approval?"
        confirmLabel="Submit"
        busy={busy}
        onCancel={() => setConfirm(null)}
        onConfirm={() => void act(() => post(`/api/change-requests/${cr.id}/submit`, {}))}
      >
        <p>Checkers will review revision {cr.revision} of the plan.</p>
      </ConfirmDialog>
    </section>
  );
}

const COMMAND_TEXT: Record<Exclude<Command, 'cancel' | 'submit'>, { label: string; title: string; body: string; danger?: boolean; reason?: 'optional' | 'required' }> = {
  execute: { label: 'Start rollout', title: 'Start the rollout now?', body: 'Wave 1 starts immediately; later waves follow after the bake time unless the halt policy stops them.' },
  pause: { label: 'Pause', title: 'Pause the rollout?', body: 'No new target starts; targets already running finish. Anyone with an operator role can resume.', reason: 'optional' },
  resume: { label: 'Resume', title: 'Resume the rollout?', body: 'The rollout continues with the next pending target.', reason: 'optional' },
  abort: { label: 'Abort', title: 'Abort the rollout for good?', body: 'No further target will run. Completed targets stay as they are (roll back separately).', danger: true, reason: 'optional' },
  rollback: {
    label: 'Roll back',
    title: 'Roll back the completed targets?',
    body: 'Completed targets are undone in reverse wave order, as waves of their own.',
    danger: true,
    reason: 'optional',
  },
};

function ExecutionPanel(props: { cr: ChangeRequest; user: User; failed: TargetStatus[]; signals: Signal[]; streamState: string; onChanged: () => Promise<void> }) {
  const { cr, user } = props;
  const [confirm, setConfirm] = useState<keyof typeof COMMAND_TEXT | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const irreversible = isIrreversible(cr);
  const operator = hasRole(user, 'maker', 'checker', 'admin');

  const sizes = cr.plan?.summary.waveSizes ?? cr.plan?.waves.map((w) => w.targets.length) ?? [];
  const source: WaveProgress[] = cr.waves && cr.waves.length ? cr.waves : sizes.map((_, i) => ({ index: i + 1 }));
  const waves = source.map((w, i) => {
    const c = w.counts ?? {};
    const total = w.total ?? w.size ?? sizes[i] ?? Object.values(c).reduce<number>((a, b) => a + (typeof b === 'number' ? b : 0), 0);
    const failed = c.failed ?? 0;
    const done = (c.succeeded ?? 0) + failed + (c.skipped ?? 0) + (c.rolled_back ?? 0);
    return { index: w.index, status: w.status ?? '', total, done, failed };
  });
  const p = cr.progress ?? {};
  const total = cr.plan?.summary.targetCount ?? cr.targetCount ?? waves.reduce((a, w) => a + w.total, 0);
  const failedCount = p.failed ?? 0;
  const done = (p.succeeded ?? 0) + failedCount + (p.skipped ?? 0) + (p.rolled_back ?? 0);
  const haltReason = cr.haltReason ?? (cr.status === 'halted' ? cr.statusReason : null);

  const offered = cr.availableCommands ?? cr.allowedActions;
  // Which buttons show follows the state; whether they are enabled also follows what the service offers this user.
  const allowed = (cmd: keyof typeof COMMAND_TEXT): boolean => {
    switch (cmd) {
      case 'execute':
        return cr.status === 'approved';
      case 'pause':
        return cr.status === 'running';
      case 'resume':
        return cr.status === 'paused' || cr.status === 'halted';
      case 'abort':
        return cr.status === 'paused' || cr.status === 'halted';
      case 'rollback':
        return !irreversible && ['completed', 'aborted', 'halted', 'paused'].includes(cr.status);
    }
  };
  const whyNot = (cmd: keyof typeof COMMAND_TEXT): string | null => {
    if (!operator) return 'needs the maker, checker or admin role';
    if (cmd === 'rollback' && irreversible) return 'this operation is irreversible';
    if (cmd === 'resume' && cr.status === 'halted') {
      if (!hasRole(user, 'checker')) return 'resuming a halted rollout needs a checker';
      if (sameUser(authorOf(cr).id, user.id)) return 'resuming a halted rollout needs a checker other than the author';
    }
    if (offered && !offered.includes(cmd)) return 'not available to you in this state';
    return null;
  };

  const run = async (cmd: keyof typeof COMMAND_TEXT, reason: string) => {
    setBusy(true);
    setError(null);
    try {
      await post(`/api/change-requests/${cr.id}/${cmd}`, reason ? { reason } : {});
      setConfirm(null);
    } catch (e) {
      setError(errorText(e));
      setConfirm(null);
    } finally {
      setBusy(false);
      await props.onChanged();
    }
  };
  const cmds = (Object.keys(COMMAND_TEXT) as (keyof typeof COMMAND_TEXT)[]).filter(allowed);

  return (
    <section className="card" aria-labelledby="exec-title" data-testid="execution">
      <h2 id="exec-title">
        Execution{' '}
        {props.streamState !== 'off' && (
          <span className={`live live-${props.streamState}`} aria-live="polite">
            {props.streamState === 'live' ? '● live' : props.streamState === 'connecting' ? 'connecting…' : 'reconnecting…'}
          </span>
        )}
      </h2>
      {cr.status === 'halted' && (
        <div className="halt-banner" role="alert" data-testid="halt-reason">
          <strong>Halted.</strong> {haltReason ?? 'The halt policy stopped the rollout.'}
        </div>
      )}
      {cr.status === 'paused' && cr.statusReason && <p className="notice">Paused: {cr.statusReason}</p>}
      {cr.status === 'completed' && <p className="notice ok">Completed: every wave finished.</p>}
      {cr.status === 'running' && cr.nextWaveAt && (
        <p className="notice" data-testid="baking">
          Baking: watching signals; the next wave starts at {when(cr.nextWaveAt)} unless the halt policy stops it.
        </p>
      )}
      {cr.status === 'rolled_back' && <p className="notice ok">Rolled back{cr.statusReason ? `: ${cr.statusReason}` : ''}.</p>}
      {cr.status !== 'approved' && (
        <>
          <ProgressBar label="Overall" done={done} total={total} failed={failedCount} />
          <div className="wave-bars">
            {waves.map((w) => (
              <ProgressBar key={w.index} label={`Wave ${w.index}${w.status ? ` · ${w.status}` : ''}`} done={w.done} total={w.total} failed={w.failed} />
            ))}
          </div>
          {cr.rollbackWaves && cr.rollbackWaves.length > 0 && (
            <div className="wave-bars" aria-label="Rollback waves">
              <h3>Rollback</h3>
              {cr.rollbackWaves.map((w) => {
                const c = w.counts ?? {};
                const total = w.size ?? w.total ?? 0;
                const doneRb = (c.rolled_back ?? 0) + (c.rollback_failed ?? 0) + (c.skipped ?? 0) + (c.succeeded ?? 0) + (c.failed ?? 0);
                return <ProgressBar key={w.index} label={`Rollback wave ${w.index}${w.status ? ` · ${w.status}` : ''}`} done={doneRb} total={total} failed={c.rollback_failed ?? 0} />;
              })}
            </div>
          )}
          <p className="counts" data-testid="counts">
            {(['pending', 'running', 'succeeded', 'failed', 'skipped', 'rolled_back'] as const).map((k) => (
              <span key={k} className={`count-${k}`}>
                {k.replace('_', ' ')} <strong>{num(p[k] ?? 0)}</strong>
              </span>
            ))}
          </p>
        </>
      )}
      {props.failed.length > 0 && (
        <div>
          <h3>Failed targets</h3>
          <ul className="failed" data-testid="failed-targets">
            {props.failed.slice(0, 50).map((t) => (
              <li key={`${t.type}:${t.id}`}>
                <span className="mono">
                  {t.type}:{t.id}
                </span>{' '}
                (wave {t.wave}): {t.error ?? 'failed'}
              </li>
            ))}
          </ul>
        </div>
      )}
      {props.signals.length > 0 && <Signals signals={props.signals} />}
      <div className="actions">
        {cmds.map((cmd) => {
          const why = whyNot(cmd);
          const t = COMMAND_TEXT[cmd];
          return (
            <span key={cmd} className="cmd">
              <button type="button" className={t.danger ? 'danger' : cmd === 'execute' ? 'primary' : ''} disabled={busy || why !== null} title={why ?? undefined} onClick={() => setConfirm(cmd)}>
                {t.label}
              </button>
              {why && <span className="why">{t.label} is disabled: {why}.</span>}
            </span>
          );
        })}
      </div>
      <ErrorBox error={error} />
      {confirm && (
        <ConfirmDialog
          open
          title={COMMAND_TEXT[confirm].title}
          confirmLabel={COMMAND_TEXT[confirm].label}
          danger={COMMAND_TEXT[confirm].danger}
          reason={COMMAND_TEXT[confirm].reason}
          busy={busy}
          onCancel={() => setConfirm(null)}
          onConfirm={(reason) => void run(confirm, reason)}
        >
          <p>{COMMAND_TEXT[confirm].body}</p>
          <p>
            <strong>{cr.title}</strong>: {operationInWords(cr)}.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function Signals({ signals }: { signals: Signal[] }) {
  return (
    <div>
      <h3>Signals</h3>
      <ul className="signals" data-testid="signals">
        {signals.slice(0, 50).map((s, i) => (
          <li key={s.id ?? i} className={`sev-${s.severity}`}>
            {when(s.at)} · <strong>{s.severity}</strong> from {s.source}
            {s.environment ? ` in ${s.environment}` : ''}
            {s.tenantId ? ` (tenant ${s.tenantId})` : ''}
            {s.flagKey ? ` [flag ${s.flagKey}]` : ''}
            {s.state === 'resolved' ? ' (resolved)' : ''}: {s.message ?? ''}
            {s.count && s.count > 1 ? ` ×${s.count}` : ''}
          </li>
        ))}
      </ul>
    </div>
  );
}

function History({ items }: { items: AuditItem[] }) {
  const who = useWho();
  if (items.length === 0) return null;
  return (
    <section className="card" aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <ol className="history">
        {items.map((h) => {
          const d = (h.data ?? {}) as { revision?: number; voidedApprovals?: number; from?: string; to?: string };
          return (
            <li key={h.seq}>
              {when(h.at)} · <span className="mono">{h.action.replace('change_request.', '')}</span> by{' '}
              {who(h.actor)}
              {d.revision ? ` · revision ${d.revision}` : ''}
              {d.from && d.to && d.from !== d.to ? ` · ${d.from} → ${d.to}` : ''}
              {d.voidedApprovals ? ` · voided ${plural(d.voidedApprovals, 'approval')}` : ''}
            </li>
          );
        })}
      </ol>
    </section>
  );
}
