// The operations issue 3 plans: what each accepts, when a target is eligible, and how it reads in a plan.
// Execution (apply/undo) is added by the engine issue.
import { Operation, ResolvedTarget } from './operation.types';
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

export const tenantRestore: Operation<NoParams> = {
  name: 'tenant.restore',
  version: 1,
  targetType: 'tenant',
  risk: 'reversible',
  mode: 'restore',
  summary:
    'Restores each soft-deleted tenant and its installations from its own snapshot; no other tenant is touched.',
  reverseOperation: 'tenant.soft_delete',
  parseParams: noParams('tenant.restore'),
  checkEligible: (t) =>
    t.state === 'purged'
      ? 'purged; its data is gone and cannot be restored'
      : t.state !== 'soft_deleted'
        ? `not soft-deleted (status ${t.state}); nothing to restore`
        : null,
  describe: () => ({ action: 'restore', to: 'active' }),
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
