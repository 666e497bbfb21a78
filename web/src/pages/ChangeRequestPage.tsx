// The change request page: lays out the panels (summary, break-glass review, approvals, execution, targets,
// discussion and history) over the data hooks in ../change-request/, which read the CR, follow its live stream
// and read each panel's data.
import { useCallback, useState } from 'react';
import { errorText } from '../api';
import { useSession } from '../auth';
import { ErrorBox, StatusBadge } from '../components/ui';
import { ApprovalPanel } from '../change-request/ApprovalPanel';
import type { Reviewed } from '../change-request/approval.rules';
import { BreakGlassReviewPanel } from '../change-request/BreakGlassReviewPanel';
import { ExecutionPanel } from '../change-request/ExecutionPanel';
import { HistoryPanel } from '../change-request/HistoryPanel';
import { SummaryPanel } from '../change-request/SummaryPanel';
import { TargetsPanel } from '../change-request/TargetsPanel';
import { EXECUTING, useChangeRequest } from '../change-request/useChangeRequest';
import { useComments, useHistory, useSignals, useTargets } from '../change-request/usePanelData';
import { Link } from '../router';

export function ChangeRequestPage({ id }: { id: string }) {
  const { user } = useSession();
  const { cr, error, load, streamState, reads, fullReads } = useChangeRequest(id);
  const [panelError, setPanelError] = useState<string | null>(null);
  const onTargetsError = useCallback((e: unknown) => setPanelError(errorText(e)), []);
  const history = useHistory(id, fullReads);
  const { comments, reload: reloadComments } = useComments(id, fullReads);
  const signals = useSignals(cr, reads);
  const { statuses, failed } = useTargets(cr, reads, onTargetsError);
  // The plan the user has in front of them: approving names exactly this hash.
  const [reviewedNow, setReviewed] = useState<Reviewed | null>(null);
  const reviewed = reviewedNow ?? (cr ? { hash: cr.planHash, revision: cr.revision } : null);
  if (cr && reviewedNow === null) setReviewed({ hash: cr.planHash, revision: cr.revision });

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
      <ErrorBox error={error ?? panelError} />
      <SummaryPanel cr={cr} />
      {cr.breakGlass && <BreakGlassReviewPanel cr={cr} onChanged={load} />}
      <ApprovalPanel cr={cr} user={user} history={history} reviewed={reviewed} onReviewed={() => setReviewed({ hash: cr.planHash, revision: cr.revision })} onChanged={load} />
      {(EXECUTING.has(cr.status) || cr.status === 'approved') && (
        <ExecutionPanel cr={cr} user={user} failed={failed} signals={signals} streamState={streamState} onChanged={load} />
      )}
      {cr.plan && <TargetsPanel plan={cr.plan} statuses={statuses} />}
      <HistoryPanel crId={cr.id} items={history} comments={comments} onCommented={reloadComments} />
    </article>
  );
}
