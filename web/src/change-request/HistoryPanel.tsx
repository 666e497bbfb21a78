// The change request's history: its lifecycle and wave entries from the audit log, oldest first as the log returns
// them, each with who did it and what it changed (revision, status, voided approvals).
import { plural, when } from '../format';
import type { AuditItem } from '../types';
import { useWho } from '../who';

export function HistoryPanel({ items }: { items: AuditItem[] }) {
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
