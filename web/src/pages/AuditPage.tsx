import { useEffect, useState } from 'react';
import { errorText, get, qs } from '../api';
import { Empty, ErrorBox } from '../components/ui';
import { when } from '../format';
import { setQuery, useLocation } from '../router';
import type { AuditItem, Page, VerifyResult } from '../types';

export function AuditPage() {
  const loc = useLocation();
  const f = {
    action: loc.query.get('action') ?? '',
    actor: loc.query.get('actor') ?? '',
    entityType: loc.query.get('entityType') ?? '',
    entityId: loc.query.get('entityId') ?? '',
  };
  const filters = qs({ ...f, limit: 100 });
  const [items, setItems] = useState<AuditItem[] | null>(null);
  const [next, setNext] = useState<string | undefined>();
  const [verify, setVerify] = useState<VerifyResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    get<VerifyResult>('/api/audit/verify')
      .then(setVerify)
      .catch((e: unknown) => setError(errorText(e)));
  }, []);
  useEffect(() => {
    let live = true;
    const t = window.setTimeout(() => {
      get<Page<AuditItem>>(`/api/audit${filters}`)
        .then((p) => {
          if (!live) return;
          setItems(p.items);
          setNext(p.nextCursor);
        })
        .catch((e: unknown) => live && setError(errorText(e)));
    }, 150);
    return () => {
      live = false;
      window.clearTimeout(t);
    };
  }, [filters]);

  const more = async () => {
    try {
      const p = await get<Page<AuditItem>>(`/api/audit${qs({ ...f, limit: 100, cursor: next })}`);
      setItems((prev) => [...(prev ?? []), ...p.items]);
      setNext(p.nextCursor);
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <section>
      <h1>Audit log</h1>
      {verify && (
        <div className={verify.ok ? 'notice ok' : 'halt-banner'} role="status" data-testid="audit-verify">
          {verify.ok
            ? `Chain verified: ${verify.entries} entries, head ${verify.headHash.slice(0, 16)}.`
            : `Chain BROKEN at entry ${verify.firstBrokenSeq ?? '?'}: ${verify.reason ?? 'hash mismatch'}.`}
        </div>
      )}
      <div className="filters">
        {(
          [
            ['action', 'Action'],
            ['actor', 'Actor'],
            ['entityType', 'Entity type'],
            ['entityId', 'Entity id'],
          ] as const
        ).map(([k, label]) => (
          <label key={k} className="field inline">
            <span>{label}</span>
            <input value={f[k]} onChange={(e) => setQuery(loc, { [k]: e.target.value })} size={14} />
          </label>
        ))}
      </div>
      <ErrorBox error={error} />
      {items && items.length === 0 && <Empty>No entries match.</Empty>}
      {items && items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">When</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Entity</th>
                <th scope="col">Hash</th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <tr key={a.seq}>
                  <td>{a.seq}</td>
                  <td>{when(a.at)}</td>
                  <td className="mono">{a.actor}</td>
                  <td className="mono">{a.action}</td>
                  <td className="mono">
                    {a.entityType}:{a.entityId}
                  </td>
                  <td className="mono" title={a.hash}>
                    {a.hash.slice(0, 10)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next && (
        <button type="button" onClick={() => void more()}>
          Load more
        </button>
      )}
    </section>
  );
}
