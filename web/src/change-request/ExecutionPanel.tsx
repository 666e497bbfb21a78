// The execution panel: the rollout's state (halted and why, paused, baking, completed), the overall, per-wave and
// rollback progress bars with counts, failed targets, the signals that concern the rollout, and the rollout commands.
import { useState } from 'react';
import { errorText, post } from '../api';
import { ConfirmDialog, ErrorBox, ProgressBar } from '../components/ui';
import { num, operationInWords, when } from '../format';
import type { ChangeRequest, Signal, TargetStatus, User } from '../types';
import { Command, commandBlocked, commandShown, overallBar, rollbackBars, waveBars } from './execution.figures';
import type { StreamState } from './useChangeRequest';

const COMMAND_TEXT: Record<Command, { label: string; title: string; body: string; danger?: boolean; reason?: 'optional' | 'required' }> = {
  execute: { label: 'Start rollout', title: 'Start the rollout now?', body: 'Wave 1 starts immediately; later waves follow after the bake time unless the halt policy stops them.' },
  pause: { label: 'Pause', title: 'Pause the rollout?', body: 'No new target starts; targets already running finish. Anyone with an operator role can resume.', reason: 'optional' },
  resume: { label: 'Resume', title: 'Resume the rollout?', body: 'The rollout continues with the next pending target.', reason: 'optional' },
  abort: { label: 'Abort', title: 'Abort the rollout for good?', body: 'No further target will run. Completed targets stay as they are (roll back separately).', danger: true, reason: 'optional' },
  rollback: {
    label: 'Roll back',
    title: 'Roll back the completed targets?',
    body: 'Completed targets are undone in reverse wave order, as waves of their own.',
    danger: true,
    reason: 'optional',
  },
};

interface Props {
  cr: ChangeRequest;
  user: User;
  failed: TargetStatus[];
  signals: Signal[];
  streamState: StreamState;
  onChanged: () => Promise<void>;
}

export function ExecutionPanel(props: Props) {
  const { cr } = props;
  return (
    <section className="card" aria-labelledby="exec-title" data-testid="execution">
      <h2 id="exec-title">
        Execution{' '}
        {props.streamState !== 'off' && (
          <span className={`live live-${props.streamState}`} aria-live="polite">
            {props.streamState === 'live' ? '● live' : props.streamState === 'connecting' ? 'connecting…' : 'reconnecting…'}
          </span>
        )}
      </h2>
      <StateNotice cr={cr} />
      {cr.status !== 'approved' && <Progress cr={cr} />}
      {props.failed.length > 0 && <FailedTargets failed={props.failed} />}
      {props.signals.length > 0 && <Signals signals={props.signals} />}
      <Commands cr={cr} user={props.user} onChanged={props.onChanged} />
    </section>
  );
}

function StateNotice({ cr }: { cr: ChangeRequest }) {
  const haltReason = cr.haltReason ?? (cr.status === 'halted' ? cr.statusReason : null);
  return (
    <>
      {cr.status === 'halted' && (
        <div className="halt-banner" role="alert" data-testid="halt-reason">
          <strong>Halted.</strong> {haltReason ?? 'The halt policy stopped the rollout.'}
        </div>
      )}
      {cr.status === 'paused' && cr.statusReason && <p className="notice">Paused: {cr.statusReason}</p>}
      {cr.status === 'completed' && <p className="notice ok">Completed: every wave finished.</p>}
      {cr.status === 'running' && cr.nextWaveAt && (
        <p className="notice" data-testid="baking">
          Baking: watching signals; the next wave starts at {when(cr.nextWaveAt)} unless the halt policy stops it.
        </p>
      )}
      {cr.status === 'rolled_back' && <p className="notice ok">Rolled back{cr.statusReason ? `: ${cr.statusReason}` : ''}.</p>}
    </>
  );
}

function Progress({ cr }: { cr: ChangeRequest }) {
  const waves = waveBars(cr);
  const overall = overallBar(cr, waves);
  const rollback = rollbackBars(cr);
  const p = cr.progress ?? {};
  return (
    <>
      <ProgressBar label="Overall" done={overall.done} total={overall.total} failed={overall.failed} />
      <div className="wave-bars">
        {waves.map((w) => (
          <ProgressBar key={w.index} label={`Wave ${w.index}${w.status ? ` · ${w.status}` : ''}`} done={w.done} total={w.total} failed={w.failed} />
        ))}
      </div>
      {rollback.length > 0 && (
        <div className="wave-bars" aria-label="Rollback waves">
          <h3>Rollback</h3>
          {rollback.map((w) => (
            <ProgressBar key={w.index} label={`Rollback wave ${w.index}${w.status ? ` · ${w.status}` : ''}`} done={w.done} total={w.total} failed={w.failed} />
          ))}
        </div>
      )}
      <p className="counts" data-testid="counts">
        {(['pending', 'running', 'succeeded', 'failed', 'skipped', 'rolled_back'] as const).map((k) => (
          <span key={k} className={`count-${k}`}>
            {k.replace('_', ' ')} <strong>{num(p[k] ?? 0)}</strong>
          </span>
        ))}
      </p>
    </>
  );
}

function FailedTargets({ failed }: { failed: TargetStatus[] }) {
  return (
    <div>
      <h3>Failed targets</h3>
      <ul className="failed" data-testid="failed-targets">
        {failed.slice(0, 50).map((t) => (
          <li key={`${t.type}:${t.id}`}>
            <span className="mono">
              {t.type}:{t.id}
            </span>{' '}
            (wave {t.wave}): {t.error ?? 'failed'}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Signals({ signals }: { signals: Signal[] }) {
  return (
    <div>
      <h3>Signals</h3>
      <ul className="signals" data-testid="signals">
        {signals.slice(0, 50).map((s, i) => (
          <li key={s.id ?? i} className={`sev-${s.severity}`}>
            {when(s.at)} · <strong>{s.severity}</strong> from {s.source}
            {s.environment ? ` in ${s.environment}` : ''}
            {s.tenantId ? ` (tenant ${s.tenantId})` : ''}
            {s.flagKey ? ` [flag ${s.flagKey}]` : ''}
            {s.state === 'resolved' ? ' (resolved)' : ''}: {s.message ?? ''}
            {s.count && s.count > 1 ? ` ×${s.count}` : ''}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Commands({ cr, user, onChanged }: { cr: ChangeRequest; user: User; onChanged: () => Promise<void> }) {
  const [confirm, setConfirm] = useState<Command | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (cmd: Command, reason: string) => {
    setBusy(true);
    setError(null);
    try {
      await post(`/api/change-requests/${cr.id}/${cmd}`, reason ? { reason } : {});
    } catch (e) {
      setError(errorText(e));
    } finally {
      setConfirm(null);
      setBusy(false);
      await onChanged();
    }
  };
  const cmds = (Object.keys(COMMAND_TEXT) as Command[]).filter((c) => commandShown(cr, c));
  return (
    <>
      <div className="actions">
        {cmds.map((cmd) => {
          const why = commandBlocked(cr, user, cmd);
          const t = COMMAND_TEXT[cmd];
          return (
            <span key={cmd} className="cmd">
              <button type="button" className={t.danger ? 'danger' : cmd === 'execute' ? 'primary' : ''} disabled={busy || why !== null} title={why ?? undefined} onClick={() => setConfirm(cmd)}>
                {t.label}
              </button>
              {why && <span className="why">{t.label} is disabled: {why}.</span>}
            </span>
          );
        })}
      </div>
      <ErrorBox error={error} />
      {confirm && (
        <ConfirmDialog
          open
          title={COMMAND_TEXT[confirm].title}
          confirmLabel={COMMAND_TEXT[confirm].label}
          danger={COMMAND_TEXT[confirm].danger}
          reason={COMMAND_TEXT[confirm].reason}
          busy={busy}
          onCancel={() => setConfirm(null)}
          onConfirm={(reason) => void run(confirm, reason)}
        >
          <p>{COMMAND_TEXT[confirm].body}</p>
          <p>
            <strong>{cr.title}</strong>: {operationInWords(cr)}.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
