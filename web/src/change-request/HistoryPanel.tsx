// The change request's discussion and history in one timeline (issue 15): its lifecycle and wave entries from the
// audit log and its comments, in time order, each naming the person; below, the form to comment, where `@Name`
// mentions a person (they see it in their inbox and webhooks hear `change_request.commented`).
import { FormEvent, useState } from 'react';
import { errorText, post } from '../api';
import { ErrorBox } from '../components/ui';
import { plural, when } from '../format';
import type { AuditItem, Comment } from '../types';
import { useDirectory, useWho } from '../who';

type Entry = { at: string; kind: 'audit'; item: AuditItem } | { at: string; kind: 'comment'; item: Comment };

export function HistoryPanel(props: { crId: string; items: AuditItem[]; comments: Comment[]; onCommented: () => void }) {
  // A comment's own audit entry would repeat it: the comment itself is shown.
  const entries: Entry[] = [
    ...props.items.filter((a) => a.action !== 'change_request.commented').map((item) => ({ at: item.at, kind: 'audit' as const, item })),
    ...props.comments.map((item) => ({ at: item.createdAt, kind: 'comment' as const, item })),
  ].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  return (
    <section className="card" aria-labelledby="history-title" data-testid="history">
      <h2 id="history-title">Discussion and history</h2>
      {entries.length > 0 && (
        <ol className="history">
          {entries.map((e) => (e.kind === 'audit' ? <AuditLine key={`a${e.item.seq}`} h={e.item} /> : <CommentLine key={`c${e.item.id}`} c={e.item} />))}
        </ol>
      )}
      <CommentForm crId={props.crId} onCommented={props.onCommented} />
    </section>
  );
}

function AuditLine({ h }: { h: AuditItem }) {
  const who = useWho();
  const d = (h.data ?? {}) as { revision?: number; voidedApprovals?: number; from?: string; to?: string };
  return (
    <li>
      {when(h.at)} · <span className="mono">{h.action.replace('change_request.', '')}</span> by <span className="person">{who(h.actor)}</span>
      {d.revision ? ` · revision ${d.revision}` : ''}
      {d.from && d.to && d.from !== d.to ? ` · ${d.from} → ${d.to}` : ''}
      {d.voidedApprovals ? ` · voided ${plural(d.voidedApprovals, 'approval')}` : ''}
    </li>
  );
}

function CommentLine({ c }: { c: Comment }) {
  const who = useWho();
  return (
    <li className="comment" data-testid="comment">
      {when(c.createdAt)} · <strong className="person">{who(c.author)}</strong> wrote:
      <p className="prewrap comment-body">{c.body}</p>
      {c.mentions.length > 0 && <span className="muted">mentions {c.mentions.map((m) => who(m)).join(', ')}</span>}
    </li>
  );
}

function CommentForm({ crId, onCommented }: { crId: string; onCommented: () => void }) {
  const { list } = useDirectory();
  const [body, setBody] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const checkers = list.filter((p) => p.checker).slice(0, 6);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await post(`/api/change-requests/${crId}/comments`, { body: body.trim() });
      setBody('');
      onCommented();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="comment-form" onSubmit={(e) => void submit(e)}>
      <label className="field">
        <span>Comment (mention someone with @Name; comments never change the plan)</span>
        <textarea value={body} rows={2} maxLength={5000} onChange={(e) => setBody(e.target.value)} />
      </label>
      {checkers.length > 0 && <p className="muted">Checkers: {checkers.map((p) => `@${p.name}`).join(', ')}</p>}
      <ErrorBox error={error} />
      <div className="actions">
        <button type="submit" disabled={busy || body.trim() === ''}>
          Comment
        </button>
      </div>
    </form>
  );
}
