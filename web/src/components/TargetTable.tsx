import { useVirtualizer } from '@tanstack/react-virtual';
import { useDeferredValue, useMemo, useRef, useState } from 'react';
import { num } from '../format';
import type { Plan, PlannedTarget, TargetStatus } from '../types';

interface Row extends PlannedTarget {
  wave: number;
  status?: string;
  error?: string | null;
}

const ROW_HEIGHT = 36;

/** The plan's facts about a target, one `key: value` per line (shown as the state cell's tooltip). */
const detailText = (d: PlannedTarget['detail']): string | undefined =>
  d ? Object.entries(d).map(([k, v]) => `${k}: ${String(v)}`).join('\n') : undefined;

/**
 * Every target of the plan, windowed: only the rows in view are in the DOM, so 10,000 targets scroll as smoothly
 * as ten. Searchable by id, name, region and state; filterable by tier and by execution status.
 */
export function TargetTable({ plan, statuses }: { plan: Plan; statuses: Map<string, TargetStatus> }) {
  const rows = useMemo<Row[]>(() => {
    const out: Row[] = [];
    for (const w of plan.waves) for (const t of w.targets) out.push({ ...t, wave: w.index });
    return out;
  }, [plan]);
  const [q, setQ] = useState('');
  const [tier, setTier] = useState('');
  const [status, setStatus] = useState('');
  const query = useDeferredValue(q.trim().toLowerCase());
  const shown = useMemo(() => {
    return rows
      .map((r) => {
        const s = statuses.get(`${r.type}:${r.id}`);
        return s ? { ...r, status: s.status, error: s.error } : r;
      })
      .filter(
        (r) =>
          (!tier || r.tier === tier) &&
          (!status || (r.status ?? 'pending') === status) &&
          (!query || `${r.type}:${r.id} ${r.name} ${r.region ?? ''} ${r.state} ${r.action}`.toLowerCase().includes(query)),
      );
  }, [rows, statuses, tier, status, query]);

  const scroller = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({ count: shown.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  const hasStatus = statuses.size > 0;

  return (
    <div className="target-table">
      <div className="filters">
        <label className="field inline">
          <span>Search targets</span>
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="id, name, region, state" />
        </label>
        <label className="field inline">
          <span>Tier</span>
          <select value={tier} onChange={(e) => setTier(e.target.value)}>
            <option value="">all</option>
            <option value="internal">internal</option>
            <option value="standard">standard</option>
            <option value="key">key</option>
          </select>
        </label>
        {hasStatus && (
          <label className="field inline">
            <span>Status</span>
            <select value={status} onChange={(e) => setStatus(e.target.value)}>
              <option value="">all</option>
              {['pending', 'running', 'succeeded', 'failed', 'skipped', 'rolled_back'].map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
        )}
        <span className="muted" aria-live="polite" data-testid="target-count">
          {num(shown.length)} of {num(rows.length)} targets
        </span>
      </div>
      <div role="table" aria-label="Targets" aria-rowcount={shown.length + 1} className="vt">
        <div role="rowgroup">
          <div role="row" className="vt-row vt-head">
            <span role="columnheader">Wave</span>
            <span role="columnheader">Target</span>
            <span role="columnheader">Name</span>
            <span role="columnheader">Tier</span>
            <span role="columnheader" className="hide-narrow">
              Region
            </span>
            <span role="columnheader">Now → after</span>
            <span role="columnheader">Status</span>
          </div>
        </div>
        <div ref={scroller} className="vt-scroll" style={{ height: Math.max(2, Math.min(12, shown.length)) * ROW_HEIGHT + 2 }} tabIndex={0} role="rowgroup" aria-label="Target rows (scroll)">
          <div style={{ height: v.getTotalSize(), position: 'relative' }}>
            {v.getVirtualItems().map((item) => {
              const r = shown[item.index];
              return (
                <div
                  role="row"
                  aria-rowindex={item.index + 2}
                  key={`${r.type}:${r.id}`}
                  className={`vt-row tier-${r.tier}${r.status === 'failed' ? ' failed' : ''}`}
                  style={{ position: 'absolute', top: 0, left: 0, right: 0, height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}
                >
                  <span role="cell">{r.wave}</span>
                  <span role="cell" className="mono" title={`${r.type}:${r.id}`}>
                    {r.type}:{r.id}
                  </span>
                  <span role="cell" title={r.name}>
                    {r.name}
                  </span>
                  <span role="cell">{r.tier === 'key' ? <strong>key</strong> : r.tier}</span>
                  <span role="cell" className="hide-narrow">
                    {r.region ?? '—'}
                  </span>
                  <span role="cell" title={detailText(r.detail)} data-testid="target-state">
                    {r.state} → {r.to ?? r.action}
                    {typeof r.detail?.platform === 'string' ? <span className="muted"> (read from {r.detail.platform})</span> : null}
                  </span>
                  <span role="cell" title={r.error ?? undefined}>
                    {r.status ?? (hasStatus ? 'pending' : '—')}
                    {r.error ? `: ${r.error}` : ''}
                  </span>
                </div>
              );
            })}
          </div>
        </div>
      </div>
    </div>
  );
}
