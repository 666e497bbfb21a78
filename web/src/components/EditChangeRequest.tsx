import { FormEvent, useState } from 'react';
import { errorText, patch } from '../api';
import { parseTargets } from '../pages/NewChangeRequestPage';
import type { ChangeRequest } from '../types';
import { ErrorBox } from './ui';

/**
 * Edits a draft or pending change request. Every edit makes a new revision with a new plan and voids every approval;
 * the form says so before saving. Targets can be edited when the plan lists them (not for a selector) and are few
 * enough to edit as text.
 */
export function EditChangeRequest({ cr, onDone }: { cr: ChangeRequest; onDone: (saved: boolean) => void }) {
  const planTargets = cr.plan && !cr.selector ? cr.plan.waves.flatMap((w) => w.targets) : null;
  const editableTargets = planTargets !== null && planTargets.length <= 2000;
  const initialTargets = editableTargets ? planTargets.map((t) => t.id).join('\n') : '';
  const [title, setTitle] = useState(cr.title);
  const [justification, setJustification] = useState(cr.justification);
  const [ticket, setTicket] = useState(cr.ticket ?? '');
  // <input type="datetime-local"> speaks the browser's local time; the API takes an instant.
  const initialStart = cr.scheduledAt ? toLocalInput(new Date(cr.scheduledAt)) : '';
  const [startAt, setStartAt] = useState(initialStart);
  const [targets, setTargets] = useState(initialTargets);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const type = cr.plan?.targetType ?? 'tenant';

  const save = async (e: FormEvent) => {
    e.preventDefault();
    const body: Record<string, unknown> = {};
    if (title.trim() !== cr.title) body.title = title.trim();
    if (justification.trim() !== cr.justification) body.justification = justification.trim();
    if (ticket.trim() !== (cr.ticket ?? '')) body.ticket = ticket.trim();
    if (startAt !== initialStart && startAt !== '') body.scheduledAt = new Date(startAt).toISOString();
    if (editableTargets && targets.trim() !== initialTargets) body.targets = parseTargets(targets, type);
    if (Object.keys(body).length === 0) {
      onDone(false);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await patch(`/api/change-requests/${cr.id}`, body);
      onDone(true);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card form" onSubmit={(e) => void save(e)} aria-labelledby="edit-title">
      <h2 id="edit-title">Edit change request</h2>
      {cr.status === 'pending' && (
        <p className="notice warn">
          Saving makes revision {cr.revision + 1} with a new plan: every approval given so far is voided and the checkers review it again.
        </p>
      )}
      <label className="field">
        <span>Title</span>
        <input value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} />
      </label>
      {editableTargets && (
        <label className="field">
          <span>Targets ({type} ids, one per line)</span>
          <textarea className="mono" rows={6} value={targets} onChange={(e) => setTargets(e.target.value)} required />
        </label>
      )}
      <label className="field">
        <span>Justification</span>
        <textarea rows={3} value={justification} onChange={(e) => setJustification(e.target.value)} required />
      </label>
      <label className="field">
        <span>Ticket</span>
        <input value={ticket} onChange={(e) => setTicket(e.target.value)} />
      </label>
      <label className="field">
        <span>Scheduled start (your local time; saving a new time voids approvals like any edit)</span>
        <input type="datetime-local" value={startAt} onChange={(e) => setStartAt(e.target.value)} />
      </label>
      <ErrorBox error={error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          Save revision {cr.revision + 1}
        </button>
        <button type="button" onClick={() => onDone(false)}>
          Discard changes
        </button>
      </div>
    </form>
  );
}

const pad = (n: number) => String(n).padStart(2, '0');
function toLocalInput(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
