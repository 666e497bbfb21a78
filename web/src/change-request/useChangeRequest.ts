// The change request page's main data hook: reads the CR, keeps it fresh from its SSE stream (at most one re-read
// every 500 ms, only the progress when the events are about targets and waves), and counts reads so that the
// panels' own hooks (history, signals, targets) know when to read again.
import { useCallback, useEffect, useRef, useState } from 'react';
import { errorText, get } from '../api';
import type { ChangeRequest } from '../types';

// States in which the rollout engine reports progress over the SSE stream.
export const EXECUTING = new Set(['running', 'paused', 'halted', 'rolling_back', 'completed', 'aborted', 'rolled_back']);
// States in which something can still change: the page follows the CR's event stream (edits, approvals, progress).
const LIVE = new Set(['draft', 'pending', 'approved', 'running', 'paused', 'halted', 'rolling_back']);

// The stream names each event after its outbox type; EventSource only delivers names it listens for.
const STREAM_EVENTS = [
  'progress',
  ...[
    'started', 'paused', 'resumed', 'halted', 'completed', 'aborted', 'rollback_started', 'rolled_back', 'edited',
    'approved', 'approval_added', 'rejected', 'cancelled', 'expired', 'wave_started', 'wave_completed',
    'target_succeeded', 'target_failed', 'target_rolled_back', 'target_rollback_failed', 'rollback_wave_started',
    'rollback_wave_completed', 'signal_received', 'break_glass_reviewed', 'commented',
  ].map((e) => `change_request.${e}`),
];

// Events about targets and waves change only the progress.
const PROGRESS_EVENTS = new Set(STREAM_EVENTS.filter((e) => e === 'progress' || /\.(target|wave|rollback_wave)_/.test(e)));

export type LoadKind = 'full' | 'progress';
export type StreamState = 'off' | 'connecting' | 'live' | 'reconnecting';

export interface ChangeRequestData {
  cr: ChangeRequest | null;
  error: string | null;
  /** Re-read now: the whole CR, or only its progress. */
  load: (kind?: LoadKind) => Promise<void>;
  streamState: StreamState;
  /** Grows with every read that reached the page; `fullReads` only with reads of the whole CR. */
  reads: number;
  fullReads: number;
}

export function useChangeRequest(id: string): ChangeRequestData {
  const [cr, setCr] = useState<ChangeRequest | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reads, setReads] = useState({ all: 0, full: 0 });
  const load = useLoader(id, setCr, setError, setReads);
  useEffect(() => {
    void load('full');
  }, [load]);
  const streamState = useStream(id, cr?.status, load);
  return { cr, error, load, streamState, reads: reads.all, fullReads: reads.full };
}

// `progress` re-reads only the rollout's progress (small) and keeps the plan; `full` re-reads the whole CR, and keeps
// the same plan object while the plan hash is unchanged so a 10,000-row table is not rebuilt on every event.
function useLoader(
  id: string,
  setCr: (cr: ChangeRequest) => void,
  setError: (e: string | null) => void,
  setReads: (f: (r: { all: number; full: number }) => { all: number; full: number }) => void,
) {
  const crRef = useRef<ChangeRequest | null>(null);
  const seq = useRef(0);
  return useCallback(
    async (kind: LoadKind = 'full') => {
      // Loads overlap (a button's own refresh and the stream's); only the latest one started may show its answer.
      const mine = ++seq.current;
      try {
        const prev = crRef.current;
        let next: ChangeRequest | undefined;
        if (kind === 'progress' && prev) {
          const p = await get<Partial<ChangeRequest>>(`/api/change-requests/${encodeURIComponent(id)}/progress`);
          next = { ...prev, ...p, id: prev.id };
        }
        // A new status means more than progress changed (approvals, reasons, commands): read the whole CR.
        const full = kind === 'full' || !prev || next!.status !== prev.status;
        if (full) {
          next = await get<ChangeRequest>(`/api/change-requests/${encodeURIComponent(id)}`);
          if (prev?.plan && prev.planHash === next.planHash) next = { ...next, plan: prev.plan };
        }
        if (!next || mine !== seq.current) return;
        crRef.current = next;
        setCr(next);
        setError(null);
        setReads((r) => ({ all: r.all + 1, full: r.full + (full ? 1 : 0) }));
      } catch (e) {
        setError(errorText(e));
      }
    },
    [id, setCr, setError, setReads],
  );
}

// Live updates: the SSE stream says something changed; re-read at most every 500 ms.
function useStream(id: string, status: string | undefined, load: (kind: LoadKind) => Promise<void>): StreamState {
  const [streamState, setStreamState] = useState<StreamState>('off');
  const timer = useRef<number | null>(null);
  const pendingKind = useRef<LoadKind>('progress');
  useEffect(() => {
    if (!status || !LIVE.has(status)) {
      setStreamState('off');
      return;
    }
    let live = false;
    const refresh = (kind: LoadKind) => {
      if (kind === 'full') pendingKind.current = 'full';
      if (timer.current !== null) return;
      timer.current = window.setTimeout(() => {
        timer.current = null;
        const k = pendingKind.current;
        pendingKind.current = 'progress';
        void load(k);
      }, 500);
    };
    setStreamState('connecting');
    const es = new EventSource(`/api/change-requests/${encodeURIComponent(id)}/stream`);
    es.onopen = () => {
      live = true;
      setStreamState('live');
    };
    es.onmessage = () => refresh('full');
    for (const name of STREAM_EVENTS) es.addEventListener(name, () => refresh(PROGRESS_EVENTS.has(name) ? 'progress' : 'full'));
    es.onerror = () => {
      live = false;
      setStreamState('reconnecting');
    };
    // A safety net while the stream reconnects: the page never shows stale progress for long.
    const poll = window.setInterval(() => {
      if (!live) void load(EXECUTING.has(status) ? 'progress' : 'full');
    }, 5_000);
    return () => {
      es.close();
      window.clearInterval(poll);
      if (timer.current !== null) window.clearTimeout(timer.current);
      timer.current = null;
    };
  }, [status, id, load]);
  return streamState;
}
