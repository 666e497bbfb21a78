import { useEffect, useState } from 'react';
import { errorText, get, qs } from '../api';
import { PagedList, usePagedList } from '../components/PagedList';
import { Empty, ErrorBox } from '../components/ui';
import { when } from '../format';
import { Link, setQuery, useLocation } from '../router';
import type { AuditItem, Page, Tenant } from '../types';

export function TenantsPage() {
  const loc = useLocation();
  const q = loc.query.get('q') ?? '';
  const tier = loc.query.get('tier') ?? '';
  const status = loc.query.get('status') ?? '';
  const region = loc.query.get('region') ?? '';
  const app = loc.query.get('app') ?? '';
  const list = usePagedList<Tenant>('/api/tenants', { q, tier, status, region, app });

  return (
    <section>
      <h1>Tenants</h1>
      <div className="filters">
        <label className="field inline">
          <span>Search</span>
          <input type="search" value={q} onChange={(e) => setQuery(loc, { q: e.target.value })} placeholder="id or name" />
        </label>
        <label className="field inline">
          <span>Tier</span>
          <select value={tier} onChange={(e) => setQuery(loc, { tier: e.target.value })}>
            <option value="">any</option>
            <option value="internal">internal</option>
            <option value="standard">standard</option>
            <option value="key">key</option>
          </select>
        </label>
        <label className="field inline">
          <span>Status</span>
          <select value={status} onChange={(e) => setQuery(loc, { status: e.target.value })}>
            <option value="">any</option>
            <option value="active">active</option>
            <option value="soft_deleted">soft-deleted</option>
            <option value="purged">purged</option>
          </select>
        </label>
        <label className="field inline">
          <span>Region</span>
          <input value={region} onChange={(e) => setQuery(loc, { region: e.target.value })} size={10} />
        </label>
        <label className="field inline">
          <span>App</span>
          <input value={app} onChange={(e) => setQuery(loc, { app: e.target.value })} size={10} />
        </label>
      </div>
      <PagedList data={list} empty="No tenants match.">
        {(items) => (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Tenant</th>
                  <th scope="col">Tier</th>
                  <th scope="col">Region</th>
                  <th scope="col">Status</th>
                  <th scope="col">Apps</th>
                </tr>
              </thead>
              <tbody>
                {items.map((t) => (
                  <tr key={t.id}>
                    <td>
                      <Link to={`/tenants/${encodeURIComponent(t.id)}`}>{t.name}</Link> <span className="mono muted">{t.id}</span>
                    </td>
                    <td>{t.tier === 'key' ? <strong>key</strong> : t.tier}</td>
                    <td>{t.region ?? '—'}</td>
                    <td>{t.status}</td>
                    <td>{t.installations.map((i) => (i.status === 'active' ? i.appKey : `${i.appKey} (${i.status})`)).join(', ')}</td>
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

export function TenantPage({ id }: { id: string }) {
  const [t, setT] = useState<Tenant | null>(null);
  const [receipt, setReceipt] = useState<Record<string, unknown> | null>(null);
  const [snapshots, setSnapshots] = useState<NonNullable<Tenant['snapshots']> | null>(null);
  const [history, setHistory] = useState<AuditItem[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    get<Tenant>(`/api/tenants/${encodeURIComponent(id)}`)
      .then(async (tenant) => {
        setT(tenant);
        setSnapshots(
          await get<{ items: NonNullable<Tenant['snapshots']> }>(`/api/tenants/${encodeURIComponent(id)}/snapshots`)
            .then((r) => r.items)
            .catch(() => null),
        );
        if (tenant.status === 'purged') {
          setReceipt(await get<Record<string, unknown>>(`/api/tenants/${encodeURIComponent(id)}/erasure-receipt`).catch(() => null));
        }
        // What happened to the tenant and its installations (soft delete, snapshots, restore, deactivation), newest first.
        const refs = [{ type: 'tenant', id }, ...tenant.installations.map((i) => ({ type: 'installation', id: `${id}/${i.appKey}` }))];
        const pages = await Promise.all(
          refs.map((r) => get<Page<AuditItem>>(`/api/audit${qs({ entityType: r.type, entityId: r.id, limit: 50 })}`).catch(() => ({ items: [] as AuditItem[] }))),
        );
        setHistory(pages.flatMap((p) => p.items).sort((a, b) => b.seq - a.seq));
      })
      .catch((e: unknown) => setError(errorText(e)));
  }, [id]);
  if (error) return <ErrorBox error={error} />;
  if (!t) return <p className="loading">Loading…</p>;
  return (
    <section>
      <p className="crumbs">
        <Link to="/tenants">Tenants</Link> › {t.id}
      </p>
      <h1>{t.name}</h1>
      {t.status === 'soft_deleted' && (
        <div className="notice warn">Soft-deleted at {when(t.softDeletedAt)}; can be restored until {when(t.purgeAfter)}, after which it may be purged.</div>
      )}
      {t.status === 'purged' && <div className="irreversible-banner">Purged: this tenant's data has been erased.</div>}
      <dl className="facts card">
        <div>
          <dt>Id</dt>
          <dd className="mono">{t.id}</dd>
        </div>
        <div>
          <dt>Tier</dt>
          <dd>{t.tier}</dd>
        </div>
        <div>
          <dt>Region</dt>
          <dd>{t.region ?? '—'}</dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>{t.status}</dd>
        </div>
        <div>
          <dt>Attributes</dt>
          <dd className="mono">{Object.keys(t.attributes ?? {}).length ? JSON.stringify(t.attributes) : '—'}</dd>
        </div>
      </dl>
      <section className="card" aria-labelledby="inst-title">
        <h2 id="inst-title">Installations</h2>
        {t.installations.length === 0 ? (
          <Empty>No apps installed.</Empty>
        ) : (
          <ul>
            {t.installations.map((i) => (
              <li key={i.appKey}>
                <span className="mono">installation:{t.id}/{i.appKey}</span> — {i.status}
                {i.deactivatedAt ? ` since ${when(i.deactivatedAt)}` : ''}
              </li>
            ))}
          </ul>
        )}
      </section>
      {(snapshots ?? t.snapshots) && (
        <section className="card" aria-labelledby="snap-title">
          <h2 id="snap-title">Snapshots</h2>
          {(snapshots ?? t.snapshots ?? []).length === 0 ? (
            <Empty>No snapshots.</Empty>
          ) : (
            <ul>
              {(snapshots ?? t.snapshots ?? []).map((s, i) => (
                <li key={s.id ?? i}>
                  {when(s.at ?? s.createdAt)} {s.operation ?? ''}{' '}
                  {s.changeRequestId && <Link to={`/change-requests/${s.changeRequestId}`}>change request</Link>}
                  {s.sha256 && <span className="mono"> sha256 {s.sha256.slice(0, 12)}…</span>}
                  {s.readable === false && <strong> (key destroyed: unreadable)</strong>}
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
      {(receipt ?? t.erasureReceipt) && (
        <section className="card" aria-labelledby="receipt-title">
          <h2 id="receipt-title">Erasure receipt</h2>
          <pre className="mono">{JSON.stringify(receipt ?? t.erasureReceipt, null, 2)}</pre>
        </section>
      )}
      {history.length > 0 && (
        <section className="card" aria-labelledby="tenant-history-title">
          <h2 id="tenant-history-title">History</h2>
          <ol className="history">
            {history.map((h) => (
              <li key={h.seq}>
                {when(h.at)} · <span className="mono">{h.action}</span> on <span className="mono">{h.entityType}:{h.entityId}</span> by {h.actor}
              </li>
            ))}
          </ol>
        </section>
      )}
      <p>
        <Link to={`/audit?entityType=tenant&entityId=${encodeURIComponent(t.id)}`}>Audit log for this tenant</Link>
      </p>
    </section>
  );
}
