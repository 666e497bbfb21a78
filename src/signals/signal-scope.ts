import type { FlagInEnvironment } from '../operations/operation.types';

// Which signals concern which change request (ADR 0007). One pure rule, used twice: by SignalsService to pick the CRs
// whose halt policy a new signal must be judged against, and by the engine to select the signals its halt policy
// counts for a CR. Keeping it in one place keeps the two from disagreeing.

/** What a signal says about where it comes from. */
export interface SignalFacts {
  changeRequestId: string | null;
  tenantId: string | null;
  flagKey: string | null;
  /** The environment the signal comes from (an SDK error report: its token's); null = any environment. */
  environment: string | null;
}

/** What a running CR touches. */
export interface CrSignalScope {
  changeRequestId: string;
  /** Tenants of its current and completed waves. */
  tenants: ReadonlySet<string>;
  /** The flags its operation changes, each in its environment (`Operation.signalFlags`). */
  flags: readonly FlagInEnvironment[];
}

/**
 * Whether a signal counts against a CR:
 * - a signal naming the CR always does;
 * - a signal naming an environment never counts against a CR that acts in other environments only (a CR acts in
 *   the environments of its `signalFlags`; one without flags, e.g. `tenant.soft_delete`, acts in none in particular
 *   and is matched as before);
 * - otherwise it counts when it names a tenant of the CR's started waves, or a flag the CR changes (in the signal's
 *   environment, when it names one; in any environment when it names none).
 */
export function signalConcerns(s: SignalFacts, cr: CrSignalScope): boolean {
  if (s.changeRequestId !== null && s.changeRequestId === cr.changeRequestId) return true;
  if (s.environment !== null && cr.flags.length > 0 && !cr.flags.some((f) => f.environment === s.environment))
    return false;
  if (s.tenantId !== null && cr.tenants.has(s.tenantId)) return true;
  return (
    s.flagKey !== null &&
    cr.flags.some((f) => f.flag === s.flagKey && (s.environment === null || f.environment === s.environment))
  );
}
