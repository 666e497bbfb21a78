// The stored flag model: one model with the wire types of `@wavegate/evaluation` (the Unleash client API format the
// SDKs evaluate). Each stored type is its wire type narrowed (`Narrow`): the server keeps only what it validated
// (known operators and strategies, string parameters, ids on every strategy), so a stored value is always a valid
// wire value, and a field added to a wire type appears here too. Where it must then be validated and served,
// the compiler says so: the validators' field lists must name every field (`fieldList`), and the snapshot builder
// must set every served field (see snapshot.builder.ts).
import type * as Wire from '@wavegate/evaluation';
import type { ConstraintOperator } from '@wavegate/evaluation';

export const FLAG_TYPES = ['release', 'kill-switch', 'operational', 'permission', 'experiment'] as const;
export type FlagType = (typeof FLAG_TYPES)[number];

export const FLAG_KEY_RE = /^[a-z0-9][a-z0-9._-]{0,99}$/;

// The operators the server accepts are exactly those the shared engine evaluates: one list, in the engine.
export { CONSTRAINT_OPERATORS } from '@wavegate/evaluation';
export type { ConstraintOperator } from '@wavegate/evaluation';

/**
 * `Base` with some fields narrowed. Every narrowed field must exist in `Base` with a type the narrowed one fits,
 * so the result is assignable to `Base`; every other field of `Base` is kept as it is.
 */
export type Narrow<Base, Over extends { [K in keyof Over]: K extends keyof Base ? Base[K] : never }> = Omit<
  Base,
  keyof Over
> &
  Over;

export type Constraint = Narrow<Wire.Constraint, { operator: ConstraintOperator }>;

export type VariantPayload = Narrow<Wire.VariantPayload, { type: 'string' | 'json' | 'csv' | 'number' }>;

export type Override = Wire.Override;

type StoredVariantFields = {
  weightType: 'variable' | 'fix';
  stickiness: string;
  payload?: VariantPayload;
};

export type VariantDefinition = Narrow<
  Wire.VariantDefinition,
  StoredVariantFields & { overrides?: Override[] }
>;

export type StrategyVariant = Narrow<Wire.StrategyVariant, StoredVariantFields>;

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

/** A strategy as stored: the wire strategy without `sortOrder`, which is its position, given when served. */
export type Strategy = Narrow<
  Omit<Wire.Strategy, 'sortOrder'>,
  {
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
>;

export type FeatureDependency = Wire.FeatureDependency;

/** A flag's configuration in one environment, as the admin API reads and writes it. */
export type FlagEnvironmentConfig = Narrow<
  Pick<Wire.ClientFeature, 'enabled' | 'strategies' | 'variants'>,
  { strategies: Strategy[]; variants: VariantDefinition[] }
>;

/**
 * The field names of `T`, all of them: `fieldList<Strategy>()(['id', 'name', ...])` does not compile while a field
 * of `T` is missing from the list (or the list names one `T` lacks). The validators use it for their lists of
 * accepted fields, so a field added to the model cannot go unvalidated.
 */
export function fieldList<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    keys: K &
      ([Exclude<keyof T, K[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, K[number]> }),
  ): readonly string[] => keys;
}
