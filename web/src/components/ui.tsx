import { ReactNode, useEffect, useId, useRef, useState } from 'react';
import { statusLabel } from '../format';

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge status-${status}`} data-status={status}>
      {statusLabel(status)}
    </span>
  );
}

export function ProgressBar({ label, done, total, failed = 0 }: { label: string; done: number; total: number; failed?: number }) {
  const value = total > 0 ? Math.round((done / total) * 100) : 0;
  const failedPct = total > 0 ? (failed / total) * 100 : 0;
  return (
    <div className="progress-row">
      <span className="progress-label">{label}</span>
      <div
        className="progress"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={value}
        aria-valuetext={`${value} % (${done} of ${total}${failed ? `, ${failed} failed` : ''})`}
      >
        <div className="progress-done" style={{ width: `${Math.max(0, ((done - failed) / Math.max(total, 1)) * 100)}%` }} />
        <div className="progress-failed" style={{ width: `${failedPct}%` }} />
      </div>
      <span className="progress-value">{value} %</span>
    </div>
  );
}

export function ErrorBox({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      {error.split('\n').map((l, i) => (
        <div key={i}>{l}</div>
      ))}
    </div>
  );
}

/**
 * A modal confirmation built on <dialog>: the browser traps focus and closes it with Escape. `requireText` makes the
 * user type a word (used for irreversible steps); `withReason` asks for an optional or required reason.
 */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  reason?: 'optional' | 'required';
  busy?: boolean;
  onConfirm: (reason: string) => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const id = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) {
      setReason('');
      d.showModal();
    } else if (!props.open && d.open) d.close();
  }, [props.open]);
  const disabled = props.busy || (props.reason === 'required' && reason.trim() === '');
  return (
    <dialog
      ref={ref}
      aria-labelledby={`${id}-title`}
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (!disabled) props.onConfirm(reason.trim());
        }}
      >
        <h2 id={`${id}-title`}>{props.title}</h2>
        <div className="dialog-body">{props.children}</div>
        {props.reason && (
          <label className="field">
            <span>Reason{props.reason === 'required' ? '' : ' (optional)'}</span>
            <textarea value={reason} onChange={(e) => setReason(e.target.value)} rows={3} required={props.reason === 'required'} />
          </label>
        )}
        <div className="actions">
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
          <button type="submit" className={props.danger ? 'danger' : 'primary'} disabled={disabled}>
            {props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}
