import { useEffect, useState } from 'react';
import { ApiError, errorText, get, put } from '../api';
import { hasRole, useSession } from '../auth';
import { Empty, ErrorBox } from '../components/ui';
import { Link, navigate, setQuery, useLocation } from '../router';
import type { ChangeRequest, Page } from '../types';

interface Strategy {
  name: string;
  parameters?: Record<string, unknown>;
  constraints?: unknown[];
}
interface FlagEnv {
  environment: string;
  enabled: boolean;
  strategies: Strategy[];
  variants?: unknown[];
  requiresChangeRequest: boolean;
  version: number;
}
interface Flag {
  key: string;
  description: string | null;
  type: string;
  tags?: string[];
  environments: Record<string, FlagEnv>;
}

const strategyText = (s: Strategy) => {
  const p = s.parameters ?? {};
  if (s.name === 'flexibleRollout' && p.rollout !== undefined) return `${s.name} ${String(p.rollout)} %`;
  return s.name;
};

export function FlagsPage({ flagKey }: { flagKey?: string }) {
  const loc = useLocation();
  const [flags, setFlags] = useState<Flag[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [missing, setMissing] = useState(false);
  const q = loc.query.get('q') ?? '';

  useEffect(() => {
    if (flagKey) return;
    get<Page<Flag>>('/api/flags')
      .then((p) => setFlags(p.items))
      .catch((e: unknown) => (e instanceof ApiError && e.status === 404 ? setMissing(true) : setError(errorText(e))));
  }, [flagKey]);

  if (flagKey) return <FlagEditor flagKey={flagKey} />;
  if (missing) return <Empty>The flags API is not available on this server.</Empty>;
  const envs = [...new Set((flags ?? []).flatMap((f) => Object.keys(f.environments)))].sort();
  const shown = (flags ?? []).filter((f) => !q || `${f.key} ${f.description ?? ''}`.toLowerCase().includes(q.toLowerCase()));
  return (
    <section>
      <h1>Flags</h1>
      <div className="filters">
        <label className="field inline">
          <span>Search</span>
          <input type="search" value={q} onChange={(e) => setQuery(loc, { q: e.target.value })} />
        </label>
      </div>
      <ErrorBox error={error} />
      {flags && shown.length === 0 && <Empty>No flags.</Empty>}
      {shown.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Flag</th>
                <th scope="col">Type</th>
                {envs.map((e) => (
                  <th key={e} scope="col">
                    {e}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {shown.map((f) => (
                <tr key={f.key}>
                  <td>
                    <Link to={`/flags/${encodeURIComponent(f.key)}`}>{f.key}</Link>
                    {f.description && <div className="muted">{f.description}</div>}
                  </td>
                  <td>{f.type}</td>
                  {envs.map((e) => {
                    const c = f.environments[e];
                    return (
                      <td key={e}>
                        {c ? (
                          <>
                            <span className={c.enabled ? 'on' : 'off'}>{c.enabled ? 'on' : 'off'}</span>{' '}
                            <span className="muted">{c.strategies.map(strategyText).join(', ')}</span>
                          </>
                        ) : (
                          '—'
                        )}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function FlagEditor({ flagKey }: { flagKey: string }) {
  const { user } = useSession();
  const [flag, setFlag] = useState<Flag | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    get<Flag>(`/api/flags/${encodeURIComponent(flagKey)}`)
      .then(setFlag)
      .catch((e: unknown) => setError(errorText(e)));
  useEffect(() => {
    void load();
  }, [flagKey]);
  if (error && !flag) return <ErrorBox error={error} />;
  if (!flag) return <p className="loading">Loading…</p>;
  const canEdit = hasRole(user, 'maker', 'admin');
  return (
    <section>
      <p className="crumbs">
        <Link to="/flags">Flags</Link> › {flag.key}
      </p>
      <h1>{flag.key}</h1>
      <p className="muted">
        {flag.type}
        {flag.description ? ` · ${flag.description}` : ''}
      </p>
      {Object.values(flag.environments).map((env) => (
        <EnvEditor key={`${env.environment}:${env.version}`} flagKey={flag.key} env={env} canEdit={canEdit} onSaved={() => void load()} />
      ))}
    </section>
  );
}

function EnvEditor({ flagKey, env, canEdit, onSaved }: { flagKey: string; env: FlagEnv; canEdit: boolean; onSaved: () => void }) {
  const [enabled, setEnabled] = useState(env.enabled);
  const [strategies, setStrategies] = useState(JSON.stringify(env.strategies, null, 2));
  const [justification, setJustification] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      let parsed: unknown;
      try {
        parsed = JSON.parse(strategies);
      } catch {
        throw new Error('Strategies: not valid JSON');
      }
      const res = await put<{ changeRequest?: ChangeRequest }>(`/api/flags/${encodeURIComponent(flagKey)}/environments/${encodeURIComponent(env.environment)}`, {
        enabled,
        strategies: parsed,
        expectedVersion: env.version,
        ...(env.requiresChangeRequest ? { justification: justification.trim() } : {}),
      });
      if (res.changeRequest) navigate(`/change-requests/${res.changeRequest.id}`);
      else onSaved();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const id = `env-${env.environment}`;
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>
        {env.environment} <span className={env.enabled ? 'on' : 'off'}>{env.enabled ? 'on' : 'off'}</span>
        {env.requiresChangeRequest && <span className="badge">changes need a change request</span>}
      </h2>
      <label className="radio">
        <input type="checkbox" checked={enabled} disabled={!canEdit} onChange={(e) => setEnabled(e.target.checked)} /> Enabled in {env.environment}
      </label>
      <label className="field">
        <span>Strategies (JSON, in order)</span>
        <textarea className="mono" rows={6} value={strategies} disabled={!canEdit} onChange={(e) => setStrategies(e.target.value)} />
      </label>
      {env.requiresChangeRequest && canEdit && (
        <label className="field">
          <span>Justification (saving opens a change request)</span>
          <textarea rows={2} value={justification} onChange={(e) => setJustification(e.target.value)} />
        </label>
      )}
      <ErrorBox error={error} />
      {canEdit ? (
        <button type="button" className="primary" disabled={busy} onClick={() => void save()}>
          {env.requiresChangeRequest ? 'Open a change request' : 'Save'}
        </button>
      ) : (
        <p className="why">Editing flags needs the maker or admin role.</p>
      )}
    </section>
  );
}
