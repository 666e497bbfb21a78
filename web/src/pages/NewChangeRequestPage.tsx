import { FormEvent, useState } from 'react';
import { errorText, post } from '../api';
import { ErrorBox } from '../components/ui';
import { navigate, useLocation } from '../router';
import type { ChangeRequest } from '../types';

interface OperationChoice {
  name: string;
  targetType: 'tenant' | 'installation';
  label: string;
  irreversible?: boolean;
}

// The built-in operations that act on inventory targets (flag changes open their CRs from the flag page).
const OPERATIONS: OperationChoice[] = [
  { name: 'installation.deactivate', targetType: 'installation', label: 'Deactivate an app (installation.deactivate)' },
  { name: 'installation.reactivate', targetType: 'installation', label: 'Reactivate an app (installation.reactivate)' },
  { name: 'tenant.soft_delete', targetType: 'tenant', label: 'Soft-delete tenants (tenant.soft_delete)' },
  { name: 'tenant.restore', targetType: 'tenant', label: 'Restore soft-deleted tenants (tenant.restore)' },
  { name: 'tenant.purge', targetType: 'tenant', label: 'PERMANENTLY erase tenants (tenant.purge)', irreversible: true },
];

const EXAMPLE: Record<string, string> = { tenant: 'acme', installation: 'acme/insight' };

/** `acme`, `tenant:acme`, `installation:acme/insight`: an explicit type is kept, so a wrong one is refused by name. */
export function parseTargets(text: string, type: string): { type: string; id: string }[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^(tenant|installation|flag):(.+)$/.exec(s);
      return m ? { type: m[1], id: m[2] } : { type, id: s };
    });
}

export function NewChangeRequestPage() {
  const loc = useLocation();
  const [title, setTitle] = useState('');
  const [operation, setOperation] = useState(loc.query.get('operation') ?? OPERATIONS[0].name);
  const [mode, setMode] = useState<'list' | 'selector'>('list');
  const [targets, setTargets] = useState(loc.query.get('targets') ?? '');
  const [tier, setTier] = useState('');
  const [region, setRegion] = useState('');
  const [appKey, setAppKey] = useState('');
  const [sizes, setSizes] = useState('');
  const [bake, setBake] = useState('600');
  const [maxSignals, setMaxSignals] = useState('1');
  const [justification, setJustification] = useState('');
  const [ticket, setTicket] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const op = OPERATIONS.find((o) => o.name === operation) ?? OPERATIONS[0];

  const submit = async (e: FormEvent, andSubmit: boolean) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const waveSizes = sizes
        .split(/[\s,]+/)
        .filter(Boolean)
        .map(Number);
      const selector = Object.fromEntries(
        Object.entries({ tier, region, appKey }).filter(([, v]) => v !== ''),
      );
      const body = {
        title: title.trim(),
        operation,
        ...(mode === 'list' ? { targets: parseTargets(targets, op.targetType) } : { selector }),
        waves: { ...(waveSizes.length ? { sizes: waveSizes } : {}), bakeSeconds: Number(bake) },
        haltPolicy: { maxErrorSignals: Number(maxSignals) },
        justification: justification.trim(),
        ...(ticket.trim() ? { ticket: ticket.trim() } : {}),
      };
      const cr = await post<ChangeRequest>('/api/change-requests', body);
      if (andSubmit) await post(`/api/change-requests/${cr.id}/submit`, {});
      navigate(`/change-requests/${cr.id}`);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>New change request</h1>
      <form className="form" onSubmit={(e) => void submit(e, true)}>
        <label className="field">
          <span>Title</span>
          <input value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} />
        </label>
        <label className="field">
          <span>Operation</span>
          <select value={operation} onChange={(e) => setOperation(e.target.value)}>
            {OPERATIONS.map((o) => (
              <option key={o.name} value={o.name}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        {op.irreversible && (
          <div className="irreversible-banner" role="note">
            <strong>IRREVERSIBLE.</strong> Purge erases the tenants' data for good and needs two approvers.
          </div>
        )}
        <fieldset>
          <legend>Targets ({op.targetType} ids)</legend>
          <label className="radio">
            <input type="radio" name="mode" checked={mode === 'list'} onChange={() => setMode('list')} /> A list of ids
          </label>
          <label className="radio">
            <input type="radio" name="mode" checked={mode === 'selector'} onChange={() => setMode('selector')} /> Every {op.targetType} matching a selector
          </label>
          {mode === 'list' ? (
            <label className="field">
              <span>
                {op.targetType} ids, one per line (e.g. <code>{EXAMPLE[op.targetType]}</code>)
              </span>
              <textarea value={targets} onChange={(e) => setTargets(e.target.value)} rows={5} required className="mono" />
            </label>
          ) : (
            <div className="row">
              <label className="field">
                <span>Tier</span>
                <select value={tier} onChange={(e) => setTier(e.target.value)}>
                  <option value="">any</option>
                  <option value="internal">internal</option>
                  <option value="standard">standard</option>
                  <option value="key">key</option>
                </select>
              </label>
              <label className="field">
                <span>Region</span>
                <input value={region} onChange={(e) => setRegion(e.target.value)} />
              </label>
              <label className="field">
                <span>App key</span>
                <input value={appKey} onChange={(e) => setAppKey(e.target.value)} />
              </label>
            </div>
          )}
        </fieldset>
        <fieldset>
          <legend>Waves and halting</legend>
          <div className="row">
            <label className="field">
              <span>Wave sizes (default 1, 2, 8, 32, …)</span>
              <input value={sizes} onChange={(e) => setSizes(e.target.value)} placeholder="1, 2, 8" />
            </label>
            <label className="field">
              <span>Bake time between waves (seconds)</span>
              <input type="number" min={0} value={bake} onChange={(e) => setBake(e.target.value)} required />
            </label>
            <label className="field">
              <span>Halt after this many error signals</span>
              <input type="number" min={1} value={maxSignals} onChange={(e) => setMaxSignals(e.target.value)} required />
            </label>
          </div>
        </fieldset>
        <label className="field">
          <span>Justification: why, and why now</span>
          <textarea value={justification} onChange={(e) => setJustification(e.target.value)} rows={3} required />
        </label>
        <label className="field">
          <span>Ticket (optional)</span>
          <input value={ticket} onChange={(e) => setTicket(e.target.value)} />
        </label>
        <ErrorBox error={error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            Create and submit for approval
          </button>
          <button type="button" disabled={busy} onClick={(e) => void submit(e, false)}>
            Save as draft
          </button>
        </div>
      </form>
    </section>
  );
}
