// Two inbox sections of issue 15: "Mentions" (the latest comments that name me, with their change request) and
// "Upcoming" (scheduled change requests that have not started, soonest first, with a countdown).
import { useEffect, useState } from 'react';
import { get } from '../api';
import { countdownText, useNow } from '../change-request/countdown';
import { authorOf, operationInWords, when } from '../format';
import { Link } from '../router';
import type { ChangeRequest, Mention, Page } from '../types';
import { useWho } from '../who';
import { StatusBadge } from './ui';

export function useMentions(): Mention[] {
  const [items, setItems] = useState<Mention[]>([]);
  useEffect(() => {
    let live = true;
    const load = () =>
      get<Page<Mention>>('/api/comments/mentions')
        .then((r) => live && setItems(r.items))
        .catch(() => undefined);
    void load();
    const t = window.setInterval(() => void load(), 10_000);
    return () => {
      live = false;
      window.clearInterval(t);
    };
  }, []);
  return items;
}

export function MentionsSection({ items }: { items: Mention[] }) {
  const who = useWho();
  if (items.length === 0) return null;
  return (
    <section className="card" aria-labelledby="mentions-title" data-testid="mentions">
      <h2 id="mentions-title">Mentions ({items.length})</h2>
      <ul className="cr-list" aria-label="Comments that mention you">
        {items.slice(0, 10).map((m) => (
          <li key={m.id}>
            <Link to={`/change-requests/${m.changeRequest.id}`} className="cr-item">
              <span className="cr-item-title">{m.changeRequest.title}</span>
              <span className="cr-item-op prewrap">“{m.body.length > 240 ? `${m.body.slice(0, 239)}…` : m.body}”</span>
              <span className="cr-item-meta">
                <StatusBadge status={m.changeRequest.status} /> {who(m.author)} · {when(m.createdAt)}
              </span>
            </Link>
          </li>
        ))}
      </ul>
    </section>
  );
}

const NOT_STARTED = new Set(['draft', 'pending', 'approved']);

export function UpcomingSection({ all }: { all: ChangeRequest[] }) {
  const who = useWho();
  const upcoming = all
    .filter((cr) => cr.scheduledAt && NOT_STARTED.has(cr.status))
    .sort((a, b) => Date.parse(a.scheduledAt!) - Date.parse(b.scheduledAt!));
  const now = useNow(upcoming.length > 0);
  if (upcoming.length === 0) return null;
  return (
    <section className="card" aria-labelledby="upcoming-title" data-testid="upcoming">
      <h2 id="upcoming-title">Upcoming ({upcoming.length})</h2>
      <ul className="cr-list" aria-label="Scheduled change requests">
        {upcoming.map((cr) => (
          <li key={cr.id}>
            <Link to={`/change-requests/${cr.id}`} className="cr-item">
              <span className="cr-item-title">{cr.title}</span>
              <span className="cr-item-op">{operationInWords(cr)}</span>
              <span className="cr-item-meta">
                <StatusBadge status={cr.status} /> starts {when(cr.scheduledAt)} · <strong data-testid="upcoming-countdown">{countdownText(Date.parse(cr.scheduledAt!) - now)}</strong>
                {cr.status === 'approved' ? '' : ' once approved'} · by {who(cr.people?.author ?? authorOf(cr).id)}
              </span>
            </Link>
          </li>
        ))}
      </ul>
    </section>
  );
}
