// Design rule 8: a break-glass execution must be reviewed after the fact by another checker (ADR 0010). This panel
// shows who broke the glass and why, the review once recorded, or the form (or the reason the viewer cannot review).
import { useState } from 'react';
import { errorText, post } from '../api';
import { ErrorBox } from '../components/ui';
import { when } from '../format';
import type { ChangeRequest } from '../types';
import { useWho } from '../who';

const REVIEW_OUTCOME_LABEL = { accepted: 'Accepted: the emergency change was justified', concerns: 'Concerns: it was not, or not like this' } as const;

export function BreakGlassReviewPanel(props: { cr: ChangeRequest; onChanged: () => Promise<void> }) {
  const { cr } = props;
  const who = useWho();
  const bg = cr.breakGlass;
  if (!bg) return null;
  const access = cr.breakGlassReviewAccess;
  const review = bg.review;
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
        <ReviewForm crId={cr.id} onChanged={props.onChanged} />
      ) : (
        <p className="why" data-testid="break-glass-review-why">
          You cannot review it: {access?.reason ?? 'reviewing needs the checker role.'}
        </p>
      )}
    </section>
  );
}

function ReviewForm(props: { crId: string; onChanged: () => Promise<void> }) {
  const [outcome, setOutcome] = useState<'accepted' | 'concerns'>('accepted');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      await post(`/api/change-requests/${props.crId}/break-glass/review`, { outcome, note: note.trim() });
      setNote('');
      await props.onChanged();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
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
      <ErrorBox error={error} />
    </form>
  );
}
