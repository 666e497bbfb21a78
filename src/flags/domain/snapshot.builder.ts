import type * as Wire from '@wavegate/evaluation';
import { canonicalJson, sha256Hex } from '../../common/canonical-json';
import {
  Constraint,
  FeatureDependency,
  FlagEnvironmentConfig,
  Narrow,
  Strategy,
  StrategyVariant,
  VariantDefinition,
} from './flag.model';

// Builds the Unleash v2 client features response (GET /api/client/features) for one environment from the stored
// model: a pure function, so the same input gives the same bytes (and ETag) on every replica.

/**
 * A wire type as Wavegate serves it: every field set, except those never served (`NotServed`) and those sent
 * only when they have a value (`WhenSet`). A field added to the wire type is therefore required here until this
 * file serves it or says why not.
 */
type Served<W, NotServed extends keyof W = never, WhenSet extends keyof W = never> = Required<
  Omit<W, NotServed | WhenSet>
> &
  Pick<W, WhenSet>;

// `disabled`: disabled strategies are not served at all.
export type ServedStrategy = Narrow<
  Served<Wire.Strategy, 'disabled', 'title'>,
  {
    id: string;
    title?: string;
    parameters: Record<string, string>;
    constraints: Constraint[];
    variants: StrategyVariant[];
  }
>;

export type ServedFeature = Narrow<
  Served<Wire.ClientFeature, never, 'dependencies'>,
  { strategies: ServedStrategy[]; variants: VariantDefinition[]; dependencies?: FeatureDependency[] }
>;

export type ServedSegment = Narrow<Served<Wire.Segment>, { name: string; constraints: Constraint[] }>;

// `meta`: Unleash's server sends revision data there; Wavegate has none.
export type ClientFeaturesBody = Narrow<
  Served<Wire.ClientFeaturesResponse, 'meta'>,
  {
    version: 2;
    features: ServedFeature[];
    query: { environment: string; inlineSegmentConstraints: false };
    segments: ServedSegment[];
  }
>;

export interface SnapshotFlag {
  key: string;
  type: string;
  description: string | null;
  impressionData: boolean;
  dependencies: FeatureDependency[];
  /** Absent when the flag has never been configured in this environment: served as off. */
  config?: FlagEnvironmentConfig;
}

export interface SnapshotSegment {
  id: number;
  name: string;
  constraints: Constraint[];
}

export const PROJECT = 'default';

/** A strategy as SDKs see it. `tenantWithId` is not an Unleash strategy, so it is served as `default` + `tenantId IN`. */
export function serveStrategy(s: Strategy, sortOrder: number): ServedStrategy {
  const base = {
    id: s.id,
    ...(s.title ? { title: s.title } : {}),
    sortOrder,
    segments: s.segments,
    variants: s.variants,
  };
  if (s.name === 'tenantWithId') {
    const values = (s.parameters.tenantIds ?? '').split(',').filter((v) => v.length > 0);
    return {
      name: 'default',
      ...base,
      parameters: {},
      constraints: [{ contextName: 'tenantId', operator: 'IN', values }, ...s.constraints],
    };
  }
  return { name: s.name, ...base, parameters: s.parameters, constraints: s.constraints };
}

export function serveFeature(flag: SnapshotFlag): ServedFeature {
  const config = flag.config ?? { enabled: false, strategies: [], variants: [] };
  const active = config.strategies.filter((s) => !s.disabled);
  // Disabled strategies are not served; a flag whose strategies are all disabled is off (with no strategies at
  // all an SDK would treat it as on for everyone).
  const enabled = config.enabled && !(config.strategies.length > 0 && active.length === 0);
  return {
    name: flag.key,
    type: flag.type,
    description: flag.description,
    project: PROJECT,
    enabled,
    stale: false,
    impressionData: flag.impressionData,
    strategies: active.map((s, i) => serveStrategy(s, i)),
    variants: config.variants,
    ...(flag.dependencies.length > 0 ? { dependencies: flag.dependencies } : {}),
  };
}

export function buildClientFeatures(
  environment: string,
  flags: readonly SnapshotFlag[],
  segments: readonly SnapshotSegment[],
): ClientFeaturesBody {
  const features = [...flags].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map(serveFeature);
  const used = new Set<number>();
  for (const f of features) for (const s of f.strategies) for (const id of s.segments) used.add(id);
  return {
    version: 2,
    features,
    query: { environment, inlineSegmentConstraints: false },
    segments: [...segments]
      .filter((s) => used.has(s.id))
      .sort((a, b) => a.id - b.id)
      .map((s) => ({ id: s.id, name: s.name, constraints: s.constraints })),
  };
}

/** A strong ETag over the exact bytes served. */
export function strongEtag(body: string | Buffer): string {
  return `"${sha256Hex(body).slice(0, 32)}"`;
}

/** The hash of a flag environment configuration, for plans and drift checks. */
export function configHash(config: FlagEnvironmentConfig): string {
  return sha256Hex(canonicalJson(config));
}
