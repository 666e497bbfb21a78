// The data hooks of the change request page's panels: each reads its own resource when the CR it belongs to was
// read again (the counters of useChangeRequest), so a panel never shows data older than the CR above it.
import { useEffect, useMemo, useState } from 'react';
import { get } from '../api';
import type { AuditItem, ChangeRequest, Comment, Page, Signal, TargetStatus } from '../types';
import { EXECUTING } from './useChangeRequest';

/** The lifecycle and the waves from the audit log; one line per target would bury them (targets are in the table). */
export function useHistory(id: string, fullReads: number): AuditItem[] {
  const [history, setHistory] = useState<AuditItem[]>([]);
  useEffect(() => {
    if (fullReads === 0) return;
    let live = true;
    get<Page<AuditItem>>(`/api/audit?entityType=change_request&entityId=${encodeURIComponent(id)}&limit=500`)
      .then((h) => live && setHistory(h.items.filter((a) => !/\.target_/.test(a.action))))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [id, fullReads]);
  return history;
}

/** The signals that concern this rollout, by the rule the halt policy applies (server side). */
export function useSignals(cr: ChangeRequest | null, reads: number): Signal[] {
  const [signals, setSignals] = useState<Signal[]>([]);
  const executing = !!cr && EXECUTING.has(cr.status);
  const id = cr?.id;
  useEffect(() => {
    if (!executing || !id) return;
    let live = true;
    get<{ items: Signal[] }>(`/api/change-requests/${encodeURIComponent(id)}/signals`)
      .then((r) => live && setSignals(r.items))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [id, executing, reads]);
  return signals;
}

export interface TargetsData {
  /** Per-target status by `type:id`. */
  statuses: Map<string, TargetStatus>;
  failed: TargetStatus[];
}

/** Per-target status: every target of a small plan (one request), only the failed ones of a large plan. */
export function useTargets(cr: ChangeRequest | null, reads: number, onError: (e: unknown) => void): TargetsData {
  const [targets, setTargets] = useState<TargetStatus[]>([]);
  const id = cr?.id;
  const count = cr ? (cr.plan?.summary.targetCount ?? cr.targetCount ?? 0) : 0;
  const all = !!cr && EXECUTING.has(cr.status) && count <= 1000;
  const anyFailed = (cr?.progress?.failed ?? 0) > 0;
  useEffect(() => {
    if (!id || (!all && !anyFailed)) return;
    let live = true;
    const path = `/api/change-requests/${encodeURIComponent(id)}/targets?${all ? '' : 'status=failed&'}limit=1000`;
    get<Page<TargetStatus>>(path)
      .then((r) => live && setTargets(r.items))
      .catch((e: unknown) => live && onError(e));
    return () => {
      live = false;
    };
  }, [id, all, anyFailed, reads, onError]);
  return useMemo(
    () => ({
      statuses: new Map(targets.map((t) => [`${t.type}:${t.id}`, t])),
      failed: targets.filter((x) => x.status === 'failed' || x.status === 'rollback_failed'),
    }),
    [targets],
  );
}

/** The discussion, oldest first; read again with the CR (a new comment arrives as a `commented` stream event). */
export function useComments(id: string, fullReads: number): { comments: Comment[]; reload: () => void } {
  const [comments, setComments] = useState<Comment[]>([]);
  const [mine, setMine] = useState(0);
  useEffect(() => {
    if (fullReads === 0) return;
    let live = true;
    get<Page<Comment>>(`/api/change-requests/${encodeURIComponent(id)}/comments`)
      .then((r) => live && setComments(r.items))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [id, fullReads, mine]);
  return { comments, reload: () => setMine((n) => n + 1) };
}
