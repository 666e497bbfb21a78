// The change request's summary: what it does in words, whether it can be undone, its blast radius, tiers, regions,
// key customers, waves, halt policy and the people and plan revision behind it; for flag changes, the diff.
import { ReactNode, useMemo } from 'react';
import { authorOf, duration, isIrreversible, num, operationInWords, pct, plural, when } from '../format';
import type { ChangeRequest, Plan } from '../types';
import { countdownText, useNow } from './countdown';
import { useWho } from '../who';

export function SummaryPanel({ cr }: { cr: ChangeRequest }) {
  const plan = cr.plan;
  const irreversible = isIrreversible(cr);
  const s = plan?.summary;
  return (
    <section className="card summary" aria-labelledby="summary-title" data-testid="cr-summary">
      <h2 id="summary-title" className="visually-hidden">
        Summary
      </h2>
      <p className="op-words" data-testid="op-words">
        {operationInWords(cr)}
      </p>
      {irreversible ? (
        <div className="irreversible-banner" role="note" data-testid="irreversible">
          <strong>IRREVERSIBLE.</strong> Once a target is done it cannot be undone or rolled back; the data is gone for good.
          {cr.requiredApprovals > 1 ? ` Needs ${cr.requiredApprovals} approvers.` : ''}
        </div>
      ) : (
        <div className="reversible-note" data-testid="reversible">
          Reversible{plan?.reverseOperation ? ` (undone by ${plan.reverseOperation})` : ''}: completed targets can be rolled back.
        </div>
      )}
      <dl className="facts">
        <PlanFacts cr={cr} />
        <PeopleFacts cr={cr} />
      </dl>
      {(s?.excludedBySelector ?? 0) > 0 && (
        <p className="muted">{plural(s?.excludedBySelector ?? 0, 'target')} matched the selector but are not eligible and are not in the plan.</p>
      )}
      {cr.operation === 'flag.update' && plan?.params && <FlagDiff params={plan.params} />}
    </section>
  );
}

/** Customers, not targets: an installation's name is "<tenant name> / <app name>". */
function useKeyCustomers(plan: Plan | undefined): string[] {
  return useMemo(() => {
    if (!plan) return [];
    const out = new Map<string, string>();
    for (const w of plan.waves)
      for (const t of w.targets)
        if (t.tier === 'key') out.set(t.tenantId ?? t.id, t.type === 'installation' ? t.name.split(' / ')[0] : t.name);
    return [...out.values()];
  }, [plan]);
}

const byCount = (m: Record<string, number> | undefined, sort = false): string =>
  m
    ? Object.entries(m)
        .sort((a, b) => (sort ? b[1] - a[1] : 0))
        .map(([k, n]) => `${k} ${num(n)}`)
        .join(' · ')
    : '—';

function haltPolicyText(plan: Plan | undefined): string {
  const halt = plan?.haltPolicy;
  if (!halt) return '—';
  const signals = halt.maxErrorSignals ?? 1;
  return `any failure in the first ${halt.strictWaves ?? 2} waves; then more than ${halt.maxFailures ?? 0} failures or ${pct(halt.maxFailureRate)} in a wave (after ${halt.minSample ?? '?'} targets); ${signals} error signal${signals === 1 ? '' : 's'} within ${duration(halt.signalWindowSeconds)}`;
}

function blastRadiusText(cr: ChangeRequest): string {
  const plan = cr.plan;
  const s = plan?.summary;
  if (plan?.targetType === 'flag') {
    const env = plan.params && typeof plan.params.environment === 'string' ? ` in ${plan.params.environment}` : '';
    return `${plural(s?.targetCount ?? 1, 'flag configuration')}: every tenant evaluated by it${env}`;
  }
  const tenants = `${plural(s?.tenantCount ?? s?.targetCount ?? cr.tenantCount ?? 0, 'tenant')} (${pct(s?.shareOfTenants)} of ${num(s?.activeTenants)} active)`;
  return `${tenants}${s && s.targetCount !== (s.tenantCount ?? s.targetCount) ? `, ${plural(s.targetCount, 'target')}` : ''}`;
}

function PlanFacts({ cr }: { cr: ChangeRequest }) {
  const plan = cr.plan;
  const s = plan?.summary;
  const keyTargets = useKeyCustomers(plan);
  const waveSizes = s?.waveSizes ?? plan?.waves.map((w) => w.targets.length) ?? [];
  return (
    <>
      <Fact term="Blast radius" testId="blast-radius">
        {blastRadiusText(cr)}
      </Fact>
      <Fact term="Tiers">{s ? byCount(s.byTier) : '—'}</Fact>
      <Fact term="Regions">{byCount(s?.byRegion, true)}</Fact>
      <Fact term="Key customers" testId="key-customers" className={keyTargets.length ? 'warn' : undefined}>
        {keyTargets.length === 0
          ? 'none touched'
          : `${num(keyTargets.length)} touched: ${keyTargets.slice(0, 8).join(', ')}${keyTargets.length > 8 ? `, and ${num(keyTargets.length - 8)} more` : ''} (last waves)`}
      </Fact>
      <Fact term="Waves">
        {waveSizes.length} ({waveSizes.slice(0, 8).map(num).join(', ')}
        {waveSizes.length > 8 ? ', …' : ''}) · bake {duration(plan?.waveSettings?.bakeSeconds)} between waves
      </Fact>
      <Fact term="Halt policy">{haltPolicyText(plan)}</Fact>
      <Fact term="Mode" className="mono">
        {cr.operation} · {plan?.mode ?? '—'}
      </Fact>
      <Fact term="Justification" className="prewrap">
        {cr.justification}
      </Fact>
      <Fact term="Ticket">{cr.ticket ?? '—'}</Fact>
    </>
  );
}

function PeopleFacts({ cr }: { cr: ChangeRequest }) {
  const who = useWho();
  return (
    <>
      <Fact term="Author" testId="author">
        {who(cr.people?.author ?? authorOf(cr).id)}
      </Fact>
      {cr.people && cr.people.editors.length > 0 && <Fact term="Edited by">{cr.people.editors.map((p) => who(p)).join(', ')}</Fact>}
      {cr.people?.executor && <Fact term="Started by" testId="executor">{who(cr.people.executor)}</Fact>}
      <Fact term="Revision" testId="revision">
        {cr.revision} · plan <span className="mono">{cr.planHash.slice(0, 12)}</span>
      </Fact>
      {cr.scheduledAt && <ScheduleFact cr={cr} at={cr.scheduledAt} />}
      {cr.breakGlass && (
        <Fact term="Emergency start" className="warn">
          by {who(cr.breakGlass.by)} for incident {cr.breakGlass.incidentRef} at {when(cr.breakGlass.at)}:{' '}
          {cr.breakGlass.review ? `reviewed (${cr.breakGlass.review.outcome})` : 'review required'}
        </Fact>
      )}
    </>
  );
}

// A scheduled CR says when it starts and counts down to it while it has not started yet.
function ScheduleFact({ cr, at }: { cr: ChangeRequest; at: string }) {
  const waiting = ['draft', 'pending', 'approved'].includes(cr.status);
  const now = useNow(waiting);
  const ms = Date.parse(at) - now;
  return (
    <Fact term="Scheduled start" testId="schedule">
      {when(at)}
      {waiting && (
        <>
          {' '}
          · <strong data-testid="countdown">{countdownText(ms)}</strong>
          {cr.status !== 'approved' ? ' (once approved)' : ''}
        </>
      )}
    </Fact>
  );
}

function Fact(props: { term: string; testId?: string; className?: string; children: ReactNode }) {
  return (
    <div>
      <dt>{props.term}</dt>
      <dd data-testid={props.testId} className={props.className}>
        {props.children}
      </dd>
    </div>
  );
}

function FlagDiff({ params }: { params: Record<string, unknown> }) {
  const before = params.before ?? params.current ?? null;
  const after = params.after ?? params.change ?? params;
  const lines = (v: unknown) => JSON.stringify(v, null, 2).split('\n');
  const a = before === null ? [] : lines(before);
  const b = lines(after);
  const aset = new Set(a);
  const bset = new Set(b);
  return (
    <div className="diff" aria-label="Flag configuration before and after">
      <h3>Flag configuration</h3>
      <div className="diff-cols">
        <pre aria-label="Before">{a.length ? a.map((l, i) => <div key={i} className={bset.has(l) ? '' : 'del'}>{l}</div>) : '(as it is now)'}</pre>
        <pre aria-label="After">
          {b.map((l, i) => (
            <div key={i} className={aset.has(l) || !a.length ? '' : 'add'}>
              {l}
            </div>
          ))}
        </pre>
      </div>
    </div>
  );
}
