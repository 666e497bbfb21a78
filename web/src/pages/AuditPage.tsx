// The audit log: the hash chain's verification and the entries, filtered by action, actor and entity, a page at a time.
import { useEffect, useState } from 'react';
import { errorText, get } from '../api';
import { PagedList, usePagedList } from '../components/PagedList';
import { ErrorBox } from '../components/ui';
import { when } from '../format';
import { setQuery, useLocation } from '../router';
import type { AuditItem, VerifyResult } from '../types';

export function AuditPage() {
  const loc = useLocation();
  const f = {
    action: loc.query.get('action') ?? '',
    actor: loc.query.get('actor') ?? '',
    entityType: loc.query.get('entityType') ?? '',
    entityId: loc.query.get('entityId') ?? '',
  };
  const list = usePagedList<AuditItem>('/api/audit', f);
  const [verify, setVerify] = useState<VerifyResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    get<VerifyResult>('/api/audit/verify')
      .then(setVerify)
      .catch((e: unknown) => setError(errorText(e)));
  }, []);

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
      <PagedList data={list} empty="No entries match.">
        {(items) => (
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
      </PagedList>
    </section>
  );
}
