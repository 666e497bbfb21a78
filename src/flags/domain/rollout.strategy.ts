import { FlagEnvironmentConfig, Strategy } from './flag.model';

// `flag.rollout` keeps ONE `tenantWithId` strategy per change request in the flag's environment, with the id
// `rollout-<changeRequestId>`: applying a target adds its tenant to the list, undoing removes it. These pure
// functions compute the next configuration; FlagsService writes it (versioned, audited, `flag.updated`).

export const rolloutStrategyId = (changeRequestId: string): string => `rollout-${changeRequestId}`;

/** Why the change cannot be made, or the new configuration (`changed: false` when the tenant is already there). */
export type RolloutEdit =
  { ok: true; changed: boolean; config: FlagEnvironmentConfig } | { ok: false; reason: string };

const tenantsOf = (s: Strategy): string[] =>
  (s.parameters.tenantIds ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v.length > 0);

/** The tenants the rollout strategy currently enables (empty when there is none). */
export function rolloutTenants(config: FlagEnvironmentConfig, strategyId: string): string[] {
  const s = config.strategies.find((x) => x.id === strategyId);
  return s ? tenantsOf(s) : [];
}

/**
 * Enables the flag for `tenantId` through the rollout strategy (created at the end of the list on first use) and
 * switches the environment on. A disabled environment that has other active strategies is refused: switching it
 * on would expose those strategies' audiences too, which is not what the checker approved.
 */
export function addRolloutTenant(
  config: FlagEnvironmentConfig,
  strategyId: string,
  tenantId: string,
  title: string,
): RolloutEdit {
  const existing = config.strategies.find((s) => s.id === strategyId);
  if (!config.enabled) {
    const others = config.strategies.filter((s) => s.id !== strategyId && !s.disabled);
    if (others.length > 0) {
      return {
        ok: false,
        reason:
          `the flag is disabled here and has ${others.length} other active ` +
          `strateg${others.length === 1 ? 'y' : 'ies'}; enabling it for one tenant would enable those too`,
      };
    }
  }
  if (existing?.disabled) return { ok: false, reason: `strategy ${strategyId} was disabled by hand` };
  const tenants = existing ? tenantsOf(existing) : [];
  if (config.enabled && tenants.includes(tenantId)) return { ok: true, changed: false, config };
  const list = tenants.includes(tenantId) ? tenants : [...tenants, tenantId];
  const strategy: Strategy = existing
    ? { ...existing, parameters: { ...existing.parameters, tenantIds: list.join(',') } }
    : {
        id: strategyId,
        name: 'tenantWithId',
        title: title.slice(0, 100),
        parameters: { tenantIds: list.join(',') },
        constraints: [],
        segments: [],
        variants: [],
      };
  const strategies = existing
    ? config.strategies.map((s) => (s.id === strategyId ? strategy : s))
    : [...config.strategies, strategy];
  return { ok: true, changed: true, config: { ...config, enabled: true, strategies } };
}

/**
 * Removes `tenantId` from the rollout strategy; the strategy goes when its list is empty. If no active strategy is
 * left the environment is switched off, since an enabled flag without strategies is on for everyone.
 */
export function removeRolloutTenant(
  config: FlagEnvironmentConfig,
  strategyId: string,
  tenantId: string,
): RolloutEdit {
  const existing = config.strategies.find((s) => s.id === strategyId);
  if (!existing) return { ok: true, changed: false, config };
  const tenants = tenantsOf(existing);
  if (!tenants.includes(tenantId)) return { ok: true, changed: false, config };
  const list = tenants.filter((t) => t !== tenantId);
  const strategies =
    list.length > 0
      ? config.strategies.map((s) =>
          s.id === strategyId ? { ...s, parameters: { ...s.parameters, tenantIds: list.join(',') } } : s,
        )
      : config.strategies.filter((s) => s.id !== strategyId);
  const enabled = config.enabled && strategies.some((s) => !s.disabled);
  return { ok: true, changed: true, config: { ...config, enabled, strategies } };
}
