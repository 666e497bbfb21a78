// A provider's definition as an admin submits it (docs/providers.md), validated as a pure function: every problem is
// named by its field (`operations[1].endpoints.undo`) in one answer. The destinations' allowlist is checked by the
// service (it needs the database); this checks the shape and the rules that make an operation safe to plan.
import { ErrorDetail } from '../../common/errors';
import type { OperationRisk } from '../../operations/operation.types';

export const PROVIDER_TARGET_TYPES = ['tenant', 'installation'] as const;
export type ProviderTargetType = (typeof PROVIDER_TARGET_TYPES)[number];
export const ENDPOINTS = ['state', 'apply', 'undo', 'verify'] as const;
export type EndpointName = (typeof ENDPOINTS)[number];

/** Modes that cannot be reversible, whatever the provider says. */
const ALWAYS_IRREVERSIBLE: ReadonlySet<string> = new Set(['permanent_delete', 'delete', 'purge']);
/** Prefixes of built-in operations: a provider cannot take their names. */
const RESERVED_NAMES = new Set(['tenant', 'installation', 'flag', 'http', 'provider', 'inventory']);

export interface ProviderOperationDef {
  name: string;
  targetType: ProviderTargetType;
  risk: OperationRisk;
  mode: string;
  description: string;
  endpoints: { state: string; apply: string; undo?: string; verify: string };
}

/** The definition as stored and shown in plans (never the secret). */
export interface ProviderDefinition {
  name: string;
  description: string;
  inventory: { url: string; pageSize: number } | null;
  operations: ProviderOperationDef[];
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
const NAME = /^[a-z][a-z0-9_]{1,39}$/;
const MODE = /^[a-z][a-z_]{1,39}$/;

function checkUrl(raw: unknown, field: string, details: ErrorDetail[]): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2000) {
    details.push({ field, reason: 'must be an http(s) URL' });
    return '';
  }
  try {
    const u = new URL(raw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
    if (u.username || u.password) {
      details.push({ field, reason: 'must not carry credentials (calls are signed with the secret)' });
    }
  } catch {
    details.push({ field, reason: 'must be an http(s) URL' });
  }
  return raw;
}

/**
 * Validates a definition. `requireSecret`: a new provider needs one (an edit may keep the stored one). Returns the
 * normalised definition and the secret separately (the secret is sealed and never stored with the definition).
 */
export function parseProviderDefinition(
  raw: unknown,
  opts: { requireSecret: boolean; name?: string },
): { definition: ProviderDefinition; secret: string | null; details: ErrorDetail[] } {
  const details: ErrorDetail[] = [];
  const empty: ProviderDefinition = { name: '', description: '', inventory: null, operations: [] };
  if (!isObj(raw)) {
    return { definition: empty, secret: null, details: [{ field: 'body', reason: 'must be an object' }] };
  }
  const known = new Set(['name', 'description', 'secret', 'inventory', 'operations']);
  for (const k of Object.keys(raw))
    if (!known.has(k))
      details.push({
        field: k,
        reason: 'unknown field; expected name, description, secret, inventory, operations',
      });
  const name = opts.name ?? raw.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    details.push({ field: 'name', reason: 'must be 2-40 characters: a-z, 0-9, _ (starting with a letter)' });
  } else if (RESERVED_NAMES.has(name)) {
    details.push({ field: 'name', reason: `"${name}" is the prefix of built-in operations` });
  }
  if (opts.name !== undefined && raw.name !== undefined && raw.name !== opts.name) {
    details.push({ field: 'name', reason: `cannot be changed (this provider is ${opts.name})` });
  }
  const description = raw.description ?? '';
  if (typeof description !== 'string' || description.length > 500)
    details.push({ field: 'description', reason: 'must be a string of at most 500 characters' });
  let secret: string | null = null;
  if (raw.secret === undefined || raw.secret === null) {
    if (opts.requireSecret)
      details.push({ field: 'secret', reason: 'required: the shared secret calls are signed with' });
  } else if (typeof raw.secret !== 'string' || raw.secret.length < 16 || raw.secret.length > 200) {
    details.push({ field: 'secret', reason: 'must be a string of 16 to 200 characters' });
  } else secret = raw.secret;

  let inventory: ProviderDefinition['inventory'] = null;
  if (raw.inventory !== undefined && raw.inventory !== null) {
    if (!isObj(raw.inventory)) details.push({ field: 'inventory', reason: 'must be {url, pageSize?}' });
    else {
      const url = checkUrl(raw.inventory.url, 'inventory.url', details);
      const pageSize = raw.inventory.pageSize ?? 500;
      if (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)
        details.push({ field: 'inventory.pageSize', reason: 'must be an integer from 1 to 1000' });
      for (const k of Object.keys(raw.inventory))
        if (k !== 'url' && k !== 'pageSize')
          details.push({ field: `inventory.${k}`, reason: 'unknown field; expected url, pageSize' });
      inventory = { url, pageSize: Number(pageSize) };
    }
  }

  const operations: ProviderOperationDef[] = [];
  if (!Array.isArray(raw.operations) || raw.operations.length === 0 || raw.operations.length > 50) {
    details.push({ field: 'operations', reason: 'must be a list of 1 to 50 operations' });
  } else {
    const seen = new Set<string>();
    raw.operations.forEach((o: unknown, i) => {
      const f = `operations[${i}]`;
      if (!isObj(o)) {
        details.push({ field: f, reason: 'must be an object' });
        return;
      }
      const allowed = new Set(['name', 'targetType', 'risk', 'mode', 'description', 'endpoints']);
      for (const k of Object.keys(o))
        if (!allowed.has(k))
          details.push({
            field: `${f}.${k}`,
            reason: 'unknown field; expected name, targetType, risk, mode, description, endpoints',
          });
      const opName = typeof o.name === 'string' ? o.name : '';
      if (!NAME.test(opName))
        details.push({ field: `${f}.name`, reason: 'must be 2-40 characters: a-z, 0-9, _' });
      else if (seen.has(opName)) details.push({ field: `${f}.name`, reason: `"${opName}" is listed twice` });
      seen.add(opName);
      if (!(PROVIDER_TARGET_TYPES as readonly unknown[]).includes(o.targetType))
        details.push({
          field: `${f}.targetType`,
          reason: `must be one of ${PROVIDER_TARGET_TYPES.join(', ')}`,
        });
      if (o.risk !== 'reversible' && o.risk !== 'irreversible')
        details.push({ field: `${f}.risk`, reason: 'must be reversible or irreversible' });
      const mode = typeof o.mode === 'string' ? o.mode : '';
      if (!MODE.test(mode))
        details.push({
          field: `${f}.mode`,
          reason: 'must be a token like deactivate, mark_for_deletion, permanent_delete',
        });
      else if (o.risk === 'reversible' && ALWAYS_IRREVERSIBLE.has(mode))
        details.push({ field: `${f}.risk`, reason: `a ${mode} operation cannot be reversible` });
      const desc = o.description ?? '';
      if (typeof desc !== 'string' || desc.length > 500)
        details.push({ field: `${f}.description`, reason: 'must be a string of at most 500 characters' });
      const endpoints: Record<string, string> = {};
      if (!isObj(o.endpoints)) {
        details.push({ field: `${f}.endpoints`, reason: 'must be {state, apply, undo?, verify}' });
      } else {
        for (const k of Object.keys(o.endpoints))
          if (!(ENDPOINTS as readonly string[]).includes(k))
            details.push({
              field: `${f}.endpoints.${k}`,
              reason: 'unknown endpoint; expected state, apply, undo, verify',
            });
        for (const e of ENDPOINTS) {
          const v = o.endpoints[e];
          if (v === undefined || v === null) {
            if (e === 'undo' && o.risk === 'reversible')
              details.push({
                field: `${f}.endpoints.undo`,
                reason: 'required: a reversible operation must say how it is undone',
              });
            else if (e !== 'undo') details.push({ field: `${f}.endpoints.${e}`, reason: 'required' });
            continue;
          }
          if (e === 'undo' && o.risk === 'irreversible') {
            details.push({
              field: `${f}.endpoints.undo`,
              reason: 'an irreversible operation has no undo; declare it reversible or drop undo',
            });
            continue;
          }
          endpoints[e] = checkUrl(v, `${f}.endpoints.${e}`, details);
        }
      }
      operations.push({
        name: opName,
        targetType: o.targetType as ProviderTargetType,
        risk: o.risk as OperationRisk,
        mode,
        description: typeof desc === 'string' ? desc : '',
        endpoints: {
          state: endpoints.state ?? '',
          apply: endpoints.apply ?? '',
          ...(endpoints.undo ? { undo: endpoints.undo } : {}),
          verify: endpoints.verify ?? '',
        },
      });
    });
  }
  return {
    definition: {
      name: typeof name === 'string' ? name : '',
      description: typeof description === 'string' ? description : '',
      inventory,
      operations,
    },
    secret,
    details,
  };
}

/** Every URL of a definition with the field that names it (for the allowlist check). */
export function definitionUrls(d: ProviderDefinition): { field: string; url: string }[] {
  const out: { field: string; url: string }[] = [];
  if (d.inventory) out.push({ field: 'inventory.url', url: d.inventory.url });
  d.operations.forEach((o, i) => {
    for (const e of ENDPOINTS) {
      const url = o.endpoints[e];
      if (url) out.push({ field: `operations[${i}].endpoints.${e}`, url });
    }
  });
  return out;
}
