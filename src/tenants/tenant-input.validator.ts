// Validation of tenants to create or import: pure, reports every bad field of every row (not just the first),
// so a 10,000-row import that fails says everything that is wrong in one answer.
import { ErrorDetail } from '../common/errors';
import { TENANT_TIERS, TenantTier } from './tenant.entity';

export const TENANT_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
export const APP_KEY_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const MAX_IMPORT_ROWS = 50_000;
const MAX_DETAILS = 1000;
const MAX_JSON_BYTES = 16_384;

export interface TenantInput {
  id: string;
  name: string;
  tier: TenantTier;
  region: string | null;
  attributes: Record<string, unknown>;
  installations: { appKey: string; data: Record<string, unknown> }[];
}

const TENANT_KEYS = ['id', 'name', 'tier', 'region', 'attributes', 'installations'];
const INSTALLATION_KEYS = ['appKey', 'data'];

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Validates one tenant. `row` (1-based) is set for imports; `knownApps` is the app catalogue: an installation of
 * an app that is not in it is refused (a typo must not create a new product).
 */
export function validateTenant(
  input: unknown,
  knownApps: ReadonlySet<string>,
  row?: number,
): { value?: TenantInput; details: ErrorDetail[] } {
  const details: ErrorDetail[] = [];
  const bad = (field: string, reason: string) =>
    details.push(row === undefined ? { field, reason } : { row, field, reason });
  if (!isPlainObject(input)) {
    bad('tenant', 'must be an object');
    return { details };
  }
  for (const key of Object.keys(input)) {
    if (!TENANT_KEYS.includes(key)) {
      bad(
        key,
        key === 'status' ? 'cannot be set here; status changes only through operations' : 'unknown field',
      );
    }
  }
  const { id, name, tier, region, attributes, installations } = input;
  if (typeof id !== 'string' || !TENANT_ID_PATTERN.test(id))
    bad('id', 'must be 1-128 characters of A-Z a-z 0-9 . _ -');
  if (typeof name !== 'string' || name.trim().length === 0 || name.length > 200)
    bad('name', 'must be 1-200 characters');
  if (typeof tier !== 'string' || !(TENANT_TIERS as readonly string[]).includes(tier)) {
    bad('tier', `must be one of ${TENANT_TIERS.join(', ')}`);
  }
  if (
    region !== undefined &&
    region !== null &&
    (typeof region !== 'string' || region.trim().length === 0 || region.length > 64)
  ) {
    bad('region', 'must be 1-64 characters');
  }
  if (
    attributes !== undefined &&
    (!isPlainObject(attributes) || JSON.stringify(attributes).length > MAX_JSON_BYTES)
  ) {
    bad('attributes', `must be a JSON object of at most ${MAX_JSON_BYTES} bytes`);
  }
  const apps: TenantInput['installations'] = [];
  if (installations !== undefined) {
    if (!Array.isArray(installations) || installations.length > 100) {
      bad('installations', 'must be a list of at most 100 installations');
    } else {
      const seen = new Set<string>();
      installations.forEach((inst: unknown, i) => {
        const f = `installations[${i}]`;
        if (!isPlainObject(inst)) return bad(f, 'must be an object {appKey, data?}');
        for (const key of Object.keys(inst))
          if (!INSTALLATION_KEYS.includes(key)) bad(`${f}.${key}`, 'unknown field');
        const { appKey, data } = inst;
        if (typeof appKey !== 'string' || !APP_KEY_PATTERN.test(appKey)) {
          bad(`${f}.appKey`, 'must be an app key (lower-case letters, digits, . _ -)');
        } else if (!knownApps.has(appKey)) {
          bad(`${f}.appKey`, `no app "${appKey}" in the catalogue (create it with POST /api/apps first)`);
        } else if (seen.has(appKey)) {
          bad(`${f}.appKey`, `"${appKey}" is listed twice`);
        } else {
          seen.add(appKey);
        }
        if (data !== undefined && (!isPlainObject(data) || JSON.stringify(data).length > MAX_JSON_BYTES)) {
          bad(`${f}.data`, `must be a JSON object of at most ${MAX_JSON_BYTES} bytes`);
        }
        if (typeof appKey === 'string') apps.push({ appKey, data: isPlainObject(data) ? data : {} });
      });
    }
  }
  if (details.length > 0) return { details };
  return {
    details,
    value: {
      id: id as string,
      name: (name as string).trim(),
      tier: tier as TenantTier,
      region: typeof region === 'string' ? region.trim() : null,
      attributes: (attributes as Record<string, unknown> | undefined) ?? {},
      installations: apps,
    },
  };
}

/** Validates a whole import; duplicates inside it are refused with both rows named. Details are capped. */
export function validateTenantImport(
  rows: readonly unknown[],
  knownApps: ReadonlySet<string>,
  rowNumber: (i: number) => number = (i) => i + 1,
): {
  values: TenantInput[];
  details: ErrorDetail[];
} {
  const values: TenantInput[] = [];
  const details: ErrorDetail[] = [];
  const firstRow = new Map<string, number>();
  rows.forEach((raw, i) => {
    const row = rowNumber(i);
    const { value, details: d } = validateTenant(raw, knownApps, row);
    details.push(...d);
    if (!value) return;
    const earlier = firstRow.get(value.id);
    if (earlier !== undefined)
      details.push({ row, field: 'id', reason: `"${value.id}" is already in row ${earlier}` });
    else firstRow.set(value.id, row);
    values.push(value);
  });
  return { values, details: capDetails(details) };
}

export function capDetails(details: ErrorDetail[]): ErrorDetail[] {
  if (details.length <= MAX_DETAILS) return details;
  return [
    ...details.slice(0, MAX_DETAILS),
    { reason: `... and ${details.length - MAX_DETAILS} more problems` },
  ];
}
