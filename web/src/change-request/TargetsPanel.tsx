// The targets panel: every target of the plan in the windowed table, with its execution status once the rollout runs.
import { TargetTable } from '../components/TargetTable';
import type { Plan, TargetStatus } from '../types';

export function TargetsPanel({ plan, statuses }: { plan: Plan; statuses: Map<string, TargetStatus> }) {
  return (
    <section aria-labelledby="targets-title" className="card">
      <h2 id="targets-title">Targets</h2>
      <TargetTable plan={plan} statuses={statuses} />
    </section>
  );
}
