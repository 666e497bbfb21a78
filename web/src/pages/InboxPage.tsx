import { useEffect, useMemo, useState } from 'react';
import { errorText, get } from '../api';
import { hasRole, useSession } from '../auth';
import { MentionsSection, UpcomingSection, useMentions } from '../components/InboxSections';
import { Empty, ErrorBox, StatusBadge } from '../components/ui';
import { authorOf, isIrreversible, operationInWords, sameUser, STATUS_LABEL, when } from '../format';
import { Link, setQuery, useLocation } from '../router';
import type { ChangeRequest, Page } from '../types';
import { useWho } from '../who';

type View = 'awaiting' | 'mine' | 'running' | 'recent';
const VIEWS: { key: View; label: string }[] = [
  { key: 'awaiting', label: 'Awaiting my approval' },
  { key: 'mine', label: 'Mine' },
  { key: 'running', label: 'Running' },
  { key: 'recent', label: 'Recent' },
];
const ACTIVE = new Set(['running', 'paused', 'halted', 'rolling_back']);

export function InboxPage() {
  const loc = useLocation();
  const { user } = useSession();
  const who = useWho();
  const [all, setAll] = useState<ChangeRequest[] | null>(null);
  const [awaiting, setAwaiting] = useState<ChangeRequest[] | null>(null);
  // Design rule 8: break-glass executions this checker may review after the fact (ADR 0010).
  const [toReview, setToReview] = useState<ChangeRequest[]>([]);
  const isChecker = hasRole(user, 'checker');
  const [error, setError] = useState<string | null>(null);
  const mentions = useMentions();

  useEffect(() => {
    let live = true;
    const load = () =>
      Promise.all([
        get<Page<ChangeRequest>>('/api/change-requests?limit=200'),
        get<Page<ChangeRequest>>('/api/change-requests?awaiting=me'),
        isChecker ? get<Page<ChangeRequest>>('/api/change-requests?breakGlassReview=pending&awaiting=me') : Promise.resolve({ items: [] }),
      ])
        .then(([a, w, r]) => {
          if (!live) return;
          setAll(a.items);
          setAwaiting(w.items);
          setToReview(r.items);
          setError(null);
        })
        .catch((e: unknown) => live && setError(errorText(e)));
    void load();
    const t = window.setInterval(() => void load(), 10_000);
    return () => {
      live = false;
      window.clearInterval(t);
    };
  }, [isChecker]);

  const lists = useMemo(() => {
    const items = all ?? [];
    return {
      awaiting: awaiting ?? [],
      mine: items.filter((cr) => sameUser(authorOf(cr).id, user.id)),
      running: items.filter((cr) => ACTIVE.has(cr.status)),
      recent: items,
    } satisfies Record<View, ChangeRequest[]>;
  }, [all, awaiting, user.id]);

  const requested = loc.query.get('view') as View | null;
  const view: View = requested && VIEWS.some((v) => v.key === requested) ? requested : lists.awaiting.length > 0 || !all ? 'awaiting' : 'recent';
  const q = loc.query.get('q') ?? '';
  const status = loc.query.get('status') ?? '';
  const shown = lists[view].filter(
    (cr) =>
      (!status || cr.status === status) &&
      (!q || `${cr.title} ${cr.operation} ${cr.ticket ?? ''} ${cr.id}`.toLowerCase().includes(q.toLowerCase())),
  );

  return (
    <section>
      <div className="page-head">
        <h1>Change requests</h1>
        {hasRole(user, 'maker', 'admin') && (
          <Link to="/change-requests/new" className="button primary">
            New change request
          </Link>
        )}
      </div>
      <MentionsSection items={mentions} />
      {all && <UpcomingSection all={all} />}
      {toReview.length > 0 && (
        <section className="card" aria-labelledby="bg-review-inbox-title" data-testid="break-glass-inbox">
          <h2 id="bg-review-inbox-title">Break-glass executions awaiting your review ({toReview.length})</h2>
          <p className="why">Run without approval in an emergency; a checker who did not run, write or edit them must review them after the fact.</p>
          <ul className="cr-list" aria-label="Break-glass executions awaiting your review">
            {toReview.map((cr) => (
              <li key={cr.id}>
                <Link to={`/change-requests/${cr.id}`} className="cr-item">
                  <span className="cr-item-title">
                    {cr.title} <span className="badge irreversible">BREAK-GLASS</span>
                  </span>
                  <span className="cr-item-op">{operationInWords(cr)}</span>
                  <span className="cr-item-meta">
                    <StatusBadge status={cr.status} /> incident {cr.breakGlass?.incidentRef} · by {who(cr.breakGlass?.by)} · {when(cr.breakGlass?.at ?? cr.updatedAt)}
                  </span>
                </Link>
              </li>
            ))}
          </ul>
        </section>
      )}
      <div className="tabs" role="group" aria-label="Inbox views">
        {VIEWS.map((v) => (
          <button
            key={v.key}
            type="button"
            aria-pressed={view === v.key}
            className={view === v.key ? 'tab active' : 'tab'}
            onClick={() => setQuery(loc, { view: v.key })}
          >
            {v.label} <span className="count" data-testid={`count-${v.key}`}>{all ? lists[v.key].length : '…'}</span>
          </button>
        ))}
      </div>
      <div className="filters">
        <label className="field inline">
          <span>Search</span>
          <input type="search" value={q} placeholder="title, operation, ticket" onChange={(e) => setQuery(loc, { q: e.target.value })} />
        </label>
        <label className="field inline">
          <span>Status</span>
          <select value={status} onChange={(e) => setQuery(loc, { status: e.target.value })}>
            <option value="">any</option>
            {Object.entries(STATUS_LABEL).map(([k, l]) => (
              <option key={k} value={k}>
                {l}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox error={error} />
      {!all && !error && <p className="loading">Loading…</p>}
      {all && shown.length === 0 && (
        <Empty>{view === 'awaiting' ? 'Nothing is waiting for your approval.' : 'No change requests match.'}</Empty>
      )}
      <ul className="cr-list" aria-label={VIEWS.find((v) => v.key === view)?.label}>
        {shown.map((cr) => (
          <li key={cr.id}>
            <Link to={`/change-requests/${cr.id}`} className="cr-item">
              <span className="cr-item-title">
                {cr.title}
                {isIrreversible(cr) && <span className="badge irreversible">IRREVERSIBLE</span>}
              </span>
              <span className="cr-item-op">{operationInWords(cr)}</span>
              <span className="cr-item-meta">
                <StatusBadge status={cr.status} /> rev {cr.revision} · by {who(cr.people?.author ?? authorOf(cr).id)} · {when(cr.updatedAt ?? cr.createdAt)}
                {cr.ticket ? ` · ${cr.ticket}` : ''}
                {cr.status === 'pending' ? ` · ${cr.approvalCount ?? 0} of ${cr.requiredApprovals} approvals` : ''}
              </span>
            </Link>
          </li>
        ))}
      </ul>
    </section>
  );
}
