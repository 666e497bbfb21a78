// A flag's dependencies on parent flags (Unleash's feature dependencies), checked as a pure function over the flags
// that exist: each names an existing flag other than itself, and dependencies are one level deep (a parent has no
// parents, and a flag that is a parent has none). The service loads the flags and throws FLAG.INVALID on errors.
import { ErrorDetail } from '../../common/errors';
import { FeatureDependency, FLAG_KEY_RE } from './flag.model';
import { isObject, Result } from './validation';

/** What the check needs to know of every flag. */
export interface KnownFlag {
  key: string;
  dependencies: readonly { feature: string }[];
}

/** `raw` (the request's `dependencies`) for flag `key`, given every flag there is. Errors name `dependencies[i]…`. */
export function checkDependencies(
  key: string,
  raw: unknown[],
  flags: readonly KnownFlag[],
): Result<FeatureDependency[]> {
  const errors: ErrorDetail[] = [];
  const out: FeatureDependency[] = [];
  for (const [i, d] of raw.entries()) {
    const dep = checkOne(key, `dependencies[${i}]`, d, flags, errors);
    if (dep) out.push(dep);
  }
  if (raw.length > 0) {
    const children = flags.filter((f) => f.dependencies.some((d) => d.feature === key));
    if (children.length > 0) {
      errors.push({
        field: 'dependencies',
        reason: `${children.map((c) => c.key).join(', ')} depend on ${key}; dependencies are one level deep`,
      });
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: out };
}

function checkOne(
  key: string,
  at: string,
  d: unknown,
  flags: readonly KnownFlag[],
  errors: ErrorDetail[],
): FeatureDependency | null {
  if (!isObject(d)) {
    errors.push({ field: at, reason: 'must be an object {feature, enabled?, variants?}' });
    return null;
  }
  const { feature, enabled, variants, ...rest } = d;
  for (const k of Object.keys(rest)) errors.push({ field: `${at}.${k}`, reason: 'unknown field' });
  if (typeof feature !== 'string' || !FLAG_KEY_RE.test(feature)) {
    errors.push({ field: `${at}.feature`, reason: 'must be a flag key' });
    return null;
  }
  if (feature === key) {
    errors.push({ field: `${at}.feature`, reason: 'a flag cannot depend on itself' });
    return null;
  }
  const parent = flags.find((f) => f.key === feature);
  if (!parent) errors.push({ field: `${at}.feature`, reason: `no flag ${feature}` });
  else if (parent.dependencies.length > 0) {
    errors.push({
      field: `${at}.feature`,
      reason: `${feature} has parents itself; dependencies are one level deep`,
    });
  }
  const dep: FeatureDependency = { feature };
  if (enabled !== undefined) {
    if (typeof enabled !== 'boolean') errors.push({ field: `${at}.enabled`, reason: 'must be a boolean' });
    else if (!enabled) dep.enabled = false;
  }
  if (variants !== undefined) {
    if (!Array.isArray(variants) || !variants.every((v) => typeof v === 'string')) {
      errors.push({ field: `${at}.variants`, reason: 'must be a list of variant names' });
    } else if (variants.length > 0) dep.variants = variants as string[];
  }
  return dep;
}
