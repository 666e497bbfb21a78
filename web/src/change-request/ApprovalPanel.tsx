// The approvals panel: the quorum and who approved which plan, approvals voided by an edit, a warning when the plan
// changed while the checker was reading it, approve and reject, and the maker's submit, edit and cancel.
import { useState } from 'react';
import { ApiError, errorText, post } from '../api';
import { ConfirmDialog, ErrorBox } from '../components/ui';
import { EditChangeRequest } from '../components/EditChangeRequest';
import { num, plural, when } from '../format';
import type { AuditItem, ChangeRequest, User } from '../types';
import { useWho } from '../who';
import { ApprovalRules, approvalRules, approverLabel, Reviewed } from './approval.rules';

type Confirm = 'reject' | 'cancel' | 'submit' | null;

interface Props {
  cr: ChangeRequest;
  user: User;
  history: AuditItem[];
  reviewed: Reviewed | null;
  onReviewed: () => void;
  onChanged: () => Promise<void>;
}

export function ApprovalPanel(props: Props) {
  const { cr } = props;
  const rules = approvalRules(cr, props.user, props.reviewed, props.history);
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<Confirm>(null);
  const [editing, setEditing] = useState(false);

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

  return (
    <section className="card" aria-labelledby="approvals-title">
      <h2 id="approvals-title">Approvals</h2>
      <ApprovalList cr={cr} rules={rules} onReviewed={props.onReviewed} />
      {(cr.status === 'pending' || cr.status === 'approved') && (
        <DecideForm cr={cr} rules={rules} busy={busy} comment={comment} setComment={setComment} onApprove={() => void approve()} onReject={() => setConfirm('reject')} />
      )}
      <div className="actions">
        {rules.canSubmit && (
          <button type="button" className="primary" disabled={busy} onClick={() => setConfirm('submit')}>
            Submit for approval
          </button>
        )}
        {rules.canEdit && !editing && (
          <button type="button" disabled={busy} onClick={() => setEditing(true)}>
            Edit
          </button>
        )}
        {rules.canCancel && (
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
      <ApprovalDialogs cr={cr} confirm={confirm} busy={busy} comment={comment} onCancel={() => setConfirm(null)} act={act} />
    </section>
  );
}

function ApprovalList({ cr, rules, onReviewed }: { cr: ChangeRequest; rules: ApprovalRules; onReviewed: () => void }) {
  const who = useWho();
  const { current, voided, voidedByEdit } = rules;
  return (
    <>
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
      {rules.stale && (
        <div className="notice warn" role="alert">
          This change request was edited while you had it open: revision {cr.revision} has a new plan ({cr.planHash.slice(0, 12)}). Check the summary and targets
          again.{' '}
          <button type="button" onClick={onReviewed}>
            I have reviewed revision {cr.revision}
          </button>
        </div>
      )}
      {cr.status === 'rejected' && cr.statusReason && <p className="notice">Rejected: {cr.statusReason}</p>}
      {cr.status === 'expired' && cr.statusReason && <p className="notice">{cr.statusReason}</p>}
    </>
  );
}

function DecideForm(props: {
  cr: ChangeRequest;
  rules: ApprovalRules;
  busy: boolean;
  comment: string;
  setComment: (c: string) => void;
  onApprove: () => void;
  onReject: () => void;
}) {
  const { cr, rules, busy, comment } = props;
  return (
    <div className="decide">
      <label className="field">
        <span>Comment (required to reject)</span>
        <textarea value={comment} onChange={(e) => props.setComment(e.target.value)} rows={2} />
      </label>
      <div className="actions">
        <button type="button" className="primary" disabled={busy || rules.approveBlocked !== null} aria-describedby="approve-why" onClick={props.onApprove}>
          Approve revision {cr.revision}
        </button>
        <button type="button" className="danger" disabled={busy || rules.rejectBlocked !== null || comment.trim() === ''} aria-describedby="reject-why" onClick={props.onReject}>
          Reject
        </button>
      </div>
      {rules.approveBlocked && (
        <p id="approve-why" className="why" data-testid="approve-why">
          Approve is disabled: {rules.approveBlocked}
        </p>
      )}
      {(rules.rejectBlocked || comment.trim() === '') && (
        <p id="reject-why" className="why">
          {rules.rejectBlocked ? `Reject is disabled: ${rules.rejectBlocked}` : 'Write a comment to reject: the author needs to know why.'}
        </p>
      )}
    </div>
  );
}

function ApprovalDialogs(props: { cr: ChangeRequest; confirm: Confirm; busy: boolean; comment: string; onCancel: () => void; act: (fn: () => Promise<unknown>) => Promise<void> }) {
  const { cr, confirm, busy, act } = props;
  const base = `/api/change-requests/${cr.id}`;
  return (
    <>
      <ConfirmDialog
        open={confirm === 'reject'}
        title={`Reject “${cr.title}”?`}
        confirmLabel="Reject"
        danger
        busy={busy}
        onCancel={props.onCancel}
        onConfirm={() => void act(() => post(`${base}/reject`, { comment: props.comment.trim() }))}
      >
        <p>One rejection rejects the change request for good. Your comment: “{props.comment.trim()}”</p>
      </ConfirmDialog>
      <ConfirmDialog open={confirm === 'cancel'} title={`Cancel “${cr.title}”?`} confirmLabel="Cancel change request" danger busy={busy} onCancel={props.onCancel} onConfirm={() => void act(() => post(`${base}/cancel`, {}))}>
        <p>A cancelled change request cannot be submitted again.</p>
      </ConfirmDialog>
      <ConfirmDialog open={confirm === 'submit'} title="Submit for approval?" confirmLabel="Submit" busy={busy} onCancel={props.onCancel} onConfirm={() => void act(() => post(`${base}/submit`, {}))}>
        <p>Checkers will review revision {cr.revision} of the plan.</p>
      </ConfirmDialog>
    </>
  );
}
