// The stored flag model. It follows Unleash's admin model so that the snapshot served to SDKs is a plain
// projection of it (see snapshot.builder.ts); parameters are kept as strings, as Unleash keeps them.

export const FLAG_TYPES = ['release', 'kill-switch', 'operational', 'permission', 'experiment'] as const;
export type FlagType = (typeof FLAG_TYPES)[number];

export const FLAG_KEY_RE = /^[a-z0-9][a-z0-9._-]{0,99}$/;

// The operators the server accepts are exactly those the shared engine evaluates: one list, in the engine.
export { CONSTRAINT_OPERATORS } from '@wavegate/evaluation';
export type { ConstraintOperator } from '@wavegate/evaluation';
import type { ConstraintOperator } from '@wavegate/evaluation';

export interface Constraint {
  contextName: string;
  operator: ConstraintOperator;
  values?: string[];
  value?: string;
  inverted?: boolean;
  caseInsensitive?: boolean;
}

export interface VariantPayload {
  type: 'string' | 'json' | 'csv' | 'number';
  value: string;
}

export interface Override {
  contextName: string;
  values: string[];
}

export interface VariantDefinition {
  name: string;
  weight: number;
  weightType: 'variable' | 'fix';
  stickiness: string;
  payload?: VariantPayload;
  overrides?: Override[];
}

export type StrategyVariant = Omit<VariantDefinition, 'overrides'>;

/** Strategies the admin API accepts. `tenantWithId` is Wavegate's; it is served as `default` + `tenantId IN`. */
export const STRATEGY_NAMES = [
  'default',
  'flexibleRollout',
  'userWithId',
  'tenantWithId',
  'remoteAddress',
  'applicationHostname',
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export interface Strategy {
  /** Stable id within the flag environment, kept across edits so plans and diffs can name a strategy. */
  id: string;
  name: StrategyName;
  title?: string;
  disabled?: boolean;
  parameters: Record<string, string>;
  constraints: Constraint[];
  segments: number[];
  variants: StrategyVariant[];
}

export interface FeatureDependency {
  feature: string;
  enabled?: boolean;
  variants?: string[];
}

/** A flag's configuration in one environment, as the admin API reads and writes it. */
export interface FlagEnvironmentConfig {
  enabled: boolean;
  strategies: Strategy[];
  variants: VariantDefinition[];
}
