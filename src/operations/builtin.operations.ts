// The operations issue 3 plans: what each accepts, when a target is eligible, and how it reads in a plan.
// Execution (apply/undo) is added by the engine issue.
import { notImplemented, unprocessable } from '../common/errors';
import { EngineExecutionContext, Operation, PlannedTarget, ResolvedTarget } from './operation.types';
import { ParamsReader } from './operation.params';
import { httpExternal, HttpParams } from './http.apply';

export const DEFAULT_RETENTION_DAYS = 30;
const DAY_MS = 86_400_000;

type NoParams = Record<string, never>;

const noParams =
  (name: string) =>
  (params: Record<string, unknown>): NoParams => {
    new ParamsReader(params, []).done(name);
    return {};
  };

function tenantGone(t: ResolvedTarget): string | null {
  const status = t.tenant?.status ?? 'active';
  return status === 'active' ? null : `its tenant ${t.tenantId} is ${status.replace('_', '-')}`;
}

export const installationDeactivate: Operation<NoParams> = {
  name: 'installation.deactivate',
  version: 1,
  targetType: 'installation',
  risk: 'reversible',
  mode: 'deactivate',
  summary: 'Deactivates the app in each tenant; its data is kept and the installation can be reactivated.',
  reverseOperation: 'installation.reactivate',
  parseParams: noParams('installation.deactivate'),
  checkEligible: (t) =>
    t.state !== 'active'
      ? `already ${t.state} (only an active installation can be deactivated)`
      : tenantGone(t),
  describe: () => ({ action: 'deactivate', to: 'deactivated' }),
};

export const installationReactivate: Operation<NoParams> = {
  name: 'installation.reactivate',
  version: 1,
  targetType: 'installation',
  risk: 'reversible',
  mode: 'reactivate',
  summary: 'Reactivates a deactivated app in each tenant.',
  reverseOperation: 'installation.deactivate',
  parseParams: noParams('installation.reactivate'),
  checkEligible: (t) =>
    t.state !== 'deactivated' ? `not deactivated (status ${t.state}); nothing to reactivate` : tenantGone(t),
  describe: () => ({ action: 'reactivate', to: 'active' }),
};

export interface SoftDeleteParams {
  retentionDays: number;
}

export const tenantSoftDelete: Operation<SoftDeleteParams> = {
  name: 'tenant.soft_delete',
  version: 1,
  targetType: 'tenant',
  risk: 'reversible',
  mode: 'mark_for_deletion',
  summary:
    'Marks each tenant and its installations as deleted and keeps a per-tenant snapshot; restorable until the retention ends.',
  reverseOperation: 'tenant.restore',
  parseParams(params) {
    const r = new ParamsReader(params, ['retentionDays']);
    const retentionDays = r.int('retentionDays', 1, 3650) ?? DEFAULT_RETENTION_DAYS;
    r.done('tenant.soft_delete');
    return { retentionDays };
  },
  checkEligible: (t) => (t.state !== 'active' ? `not active (status ${t.state})` : null),
  describe: () => ({ action: 'soft_delete', to: 'soft_deleted' }),
};

/**
 * Where `tenant.restore` takes a tenant's rows from (`params.source`). Parsed here and only here, so every source
 * variant is one case of one union (`restoreSourceOf` reads the stored params back):
 * - absent: the tenant's latest soft-delete snapshot (the default; the tenant must be soft-deleted);
 * - `{pointInTime: ISO}`: the tenant's rows at that moment, from the continuous archive;
 * - `{backupId}`: the tenant's rows at the moment that base backup was taken.
 */
export type RestoreSource =
  { kind: 'snapshot' } | { kind: 'point_in_time'; at: string } | { kind: 'backup'; backupId: string };

/** As stored in the plan: `{}` for the snapshot default (older plans stay byte-identical), else `{source}`. */
export interface TenantRestoreParams {
  source?: { pointInTime: string } | { backupId: string };
}

const ISO_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)$/;
const BACKUP_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function parseRestoreParams(params: Record<string, unknown>): TenantRestoreParams {
  const r = new ParamsReader(params, ['source']);
  const source = r.object('source');
  r.done('tenant.restore');
  if (!source) return {};
  const keys = Object.keys(source);
  const bad = (field: string, reason: string) =>
    unprocessable('CHANGE_REQUEST.INVALID_PARAMS', `Invalid params for tenant.restore: ${field} ${reason}`, [
      { field, reason },
    ]);
  if (keys.length !== 1 || !['pointInTime', 'backupId'].includes(keys[0])) {
    throw bad(
      'params.source',
      'must be {pointInTime: ISO 8601 instant} or {backupId}; omit it to restore from the soft-delete snapshot',
    );
  }
  if (keys[0] === 'pointInTime') {
    const v = source.pointInTime;
    const ms = typeof v === 'string' && ISO_INSTANT.test(v) ? Date.parse(v) : NaN;
    if (Number.isNaN(ms)) {
      throw bad(
        'params.source.pointInTime',
        'must be an ISO 8601 instant with a time zone, e.g. 2026-12-05T03:14:00Z',
      );
    }
    // Normalised to UTC with milliseconds: the plan shows one unambiguous moment.
    return { source: { pointInTime: new Date(ms).toISOString() } };
  }
  const id = source.backupId;
  if (typeof id !== 'string' || !BACKUP_ID.test(id))
    throw bad('params.source.backupId', 'must be a backup id (a UUID)');
  return { source: { backupId: id } };
}

/** The source of stored (already parsed) `tenant.restore` params. */
export function restoreSourceOf(params: unknown): RestoreSource {
  const src = (params as TenantRestoreParams | null | undefined)?.source;
  if (src && 'pointInTime' in src) return { kind: 'point_in_time', at: src.pointInTime };
  if (src && 'backupId' in src) return { kind: 'backup', backupId: src.backupId };
  return { kind: 'snapshot' };
}

/**
 * A restore source other than the soft-delete snapshot (the continuous archive): planned and executed by the module
 * that owns it, plugged in with `plugRestoreSource`. The snapshot default stays built in.
 */
export interface RestoreSourceHandler {
  /** Reads each target (and each id the inventory does not know) at the source's moment; see Operation.inspectTargets. */
  inspectTargets: NonNullable<Operation<TenantRestoreParams>['inspectTargets']>;
  checkEligible(t: ResolvedTarget, source: RestoreSource): string | null;
  describe(t: ResolvedTarget, source: RestoreSource): { action: string; to: string };
  prefetch(targets: readonly PlannedTarget[]): Promise<Map<string, unknown>>;
  apply(t: PlannedTarget, ctx: EngineExecutionContext<TenantRestoreParams>): Promise<void>;
  undo(t: PlannedTarget, ctx: EngineExecutionContext<TenantRestoreParams>): Promise<void>;
}

const restoreSources = new Map<'point_in_time' | 'backup', RestoreSourceHandler>();

/** Called by the module that provides a source at init; the latest registration wins (a restarted app). */
export function plugRestoreSource(kind: 'point_in_time' | 'backup', handler: RestoreSourceHandler): void {
  restoreSources.set(kind, handler);
}

/** The handler of a non-default source, or 501 naming the field when this installation has none. */
export function restoreSourceHandler(source: RestoreSource): RestoreSourceHandler {
  const kind = source.kind === 'snapshot' ? null : source.kind;
  const h = kind ? restoreSources.get(kind) : undefined;
  if (!h) {
    throw notImplemented(
      'RESTORE.SOURCE_UNAVAILABLE',
      `params.source: this installation cannot restore from ${source.kind === 'backup' ? 'a backup' : 'a point in time'} (no continuous archive)`,
      [{ field: 'params.source', reason: 'no continuous archive is configured' }],
    );
  }
  return h;
}

export const tenantRestore: Operation<TenantRestoreParams> = {
  name: 'tenant.restore',
  version: 1,
  targetType: 'tenant',
  risk: 'reversible',
  mode: 'restore',
  summary:
    'Restores each tenant and its installations, from its own soft-delete snapshot or, with params.source, as it was at a moment; no other tenant is touched.',
  reverseOperation: 'tenant.soft_delete',
  parseParams: parseRestoreParams,
  async inspectTargets(m, request, ctx) {
    const source = restoreSourceOf(ctx.params);
    // The snapshot default needs no more than the inventory: its plans stay as they were.
    if (source.kind === 'snapshot') return { detail: new Map() };
    return restoreSourceHandler(source).inspectTargets(m, request, ctx);
  },
  checkEligible(t, ctx) {
    const source = restoreSourceOf(ctx.params);
    if (source.kind !== 'snapshot') return restoreSourceHandler(source).checkEligible(t, source);
    return t.state === 'purged'
      ? 'purged; its data is gone and cannot be restored'
      : t.state !== 'soft_deleted'
        ? `not soft-deleted (status ${t.state}); nothing to restore`
        : null;
  },
  describe(t, ctx) {
    const source = restoreSourceOf(ctx.params);
    if (source.kind !== 'snapshot') return restoreSourceHandler(source).describe(t, source);
    return { action: 'restore', to: 'active' };
  },
  async prefetch(targets, ctx) {
    const source = restoreSourceOf(ctx.params);
    if (source.kind === 'snapshot') return new Map();
    return restoreSourceHandler(source).prefetch(targets);
  },
};

export const tenantPurge: Operation<NoParams> = {
  name: 'tenant.purge',
  version: 1,
  targetType: 'tenant',
  risk: 'irreversible',
  mode: 'permanent_delete',
  summary:
    'PERMANENTLY erases each tenant’s data and destroys its snapshot key. Only tenants soft-deleted for the whole retention.',
  parseParams: noParams('tenant.purge'),
  checkEligible(t, ctx) {
    if (t.state !== 'soft_deleted') {
      return `not soft-deleted (status ${t.state}); purge needs a soft delete at least ${DEFAULT_RETENTION_DAYS} days old`;
    }
    const since = t.tenant?.softDeletedAt ?? null;
    const after =
      t.tenant?.purgeAfter ?? (since ? new Date(since.getTime() + DEFAULT_RETENTION_DAYS * DAY_MS) : null);
    if (!after || ctx.now.getTime() < after.getTime()) {
      return `still within its retention: soft-deleted ${since ? since.toISOString() : '(unknown)'}, purgeable from ${
        after ? after.toISOString() : '(unknown)'
      }`;
    }
    return null;
  },
  describe: () => ({ action: 'purge', to: 'purged' }),
};

export type { HttpParams };

export const httpOperation: Operation<HttpParams> = {
  name: 'http',
  version: 1,
  targetType: 'tenant',
  // Wavegate cannot know how to undo a call to someone else's service.
  risk: 'irreversible',
  mode: 'http_call',
  summary: 'Calls a downstream service once per tenant with a signed, idempotent request.',
  parseParams(params) {
    const r = new ParamsReader(params, ['url', 'method', 'body']);
    const url = r.string('url', {
      required: true,
      max: 2000,
      pattern: /^https?:\/\/[^\s]+$/,
      hint: 'must be an http(s) URL',
    });
    const method = r.oneOf('method', ['POST', 'PUT', 'PATCH', 'DELETE'] as const, 'POST');
    const body = r.object('body');
    r.done('http');
    return { url: url as string, method, ...(body ? { body } : {}) };
  },
  checkEligible: (t) => (t.state !== 'active' ? `not active (status ${t.state})` : null),
  describe: (_t, ctx) => ({ action: `${ctx.params.method.toLowerCase()} ${ctx.params.url}`, to: 'called' }),
  external: httpExternal,
};

// Stand-ins until the flags module (issue 5) registers the real ones with their eligibility.
const provisionalFlagOperation = (name: string, mode: string): Operation<Record<string, unknown>> => ({
  name,
  version: 1,
  targetType: 'flag',
  risk: 'reversible',
  mode,
  summary: 'Changes a feature flag (provided by the flags module).',
  provisional: true,
  parseParams: (params) => params,
  checkEligible: () => 'flags are not available yet',
  describe: () => ({ action: mode, to: 'changed' }),
});

export const BUILTIN_OPERATIONS: Operation<never>[] = [
  installationDeactivate,
  installationReactivate,
  tenantSoftDelete,
  tenantRestore,
  tenantPurge,
  httpOperation,
  provisionalFlagOperation('flag.update', 'update'),
  provisionalFlagOperation('flag.rollout', 'rollout'),
] as Operation<never>[];
