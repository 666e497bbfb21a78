// Which events a subscription receives (issue 8). Pure.

/** `*`, an exact type (`change_request.approved`) or a prefix (`change_request.*`). */
export const EVENT_PATTERN_RE = /^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/;

export function matchesEventType(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => {
    if (p === '*') return true;
    if (p.endsWith('.*')) return type.startsWith(p.slice(0, -1));
    return p === type;
  });
}

export interface FilterableEvent {
  type: string;
  data: Record<string, unknown>;
}

/**
 * Break-glass executions and halts reach every subscription that listens to their type, whatever its environment
 * filter (issue 8): the people who must react are not necessarily watching the environment it happened in.
 */
export function bypassesEnvironmentFilter(e: FilterableEvent): boolean {
  return Boolean(e.data.breakGlass) || e.type === 'change_request.halted';
}

/**
 * An event is environment-scoped when its data names an `environment`. A subscription with an environment filter
 * receives scoped events of those environments only, and every event that is not scoped (tenant deletions have no
 * environment, and are exactly what a channel wants to hear about).
 */
export function subscriptionWants(
  sub: { events: readonly string[]; environments: readonly string[] | null },
  e: FilterableEvent,
): boolean {
  if (!matchesEventType(sub.events, e.type)) return false;
  if (!sub.environments || sub.environments.length === 0) return true;
  if (bypassesEnvironmentFilter(e)) return true;
  const env = e.data.environment;
  if (typeof env !== 'string') return true;
  return sub.environments.includes(env);
}
