import type { ChangeRequest, Plan } from './types';

const nf = new Intl.NumberFormat('en-US');
export const num = (n: number | undefined | null): string => nf.format(n ?? 0);
export const plural = (n: number, one: string, many = `${one}s`) => `${num(n)} ${n === 1 ? one : many}`;
export const pct = (share: number | null | undefined): string =>
  share === null || share === undefined ? '—' : `${(share * 100).toFixed(share < 0.001 && share > 0 ? 2 : 1)} %`;

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

export function duration(seconds: number | undefined): string {
  if (seconds === undefined) return '—';
  if (seconds < 60) return plural(seconds, 'second');
  if (seconds < 3600) return plural(Math.round(seconds / 60), 'minute');
  return plural(Math.round(seconds / 360) / 10, 'hour');
}

const apps = (plan: Plan): string => {
  const fromParams = plan.params && typeof plan.params.appKey === 'string' ? plan.params.appKey : undefined;
  const keys = Object.keys(plan.summary.byApp ?? {});
  if (fromParams) return fromParams;
  if (keys.length === 1) return keys[0];
  return keys.length ? keys.join(', ') : 'apps';
};

/** The operation in words, e.g. "Deactivate app insight on 1,000 installations". */
export function operationInWords(cr: Pick<ChangeRequest, 'operation' | 'plan' | 'targetCount' | 'selector'>): string {
  const plan = cr.plan;
  const n = plan?.summary.targetCount ?? cr.targetCount ?? 0;
  const params = (plan?.params ?? {}) as Record<string, unknown>;
  // List views carry no plan: the selector may still name the app.
  const app = plan ? apps(plan) : typeof cr.selector?.appKey === 'string' ? cr.selector.appKey : 'an app';
  switch (cr.operation) {
    case 'installation.deactivate':
      return `Deactivate ${app === 'an app' ? app : `app ${app}`} on ${plural(n, 'installation')}`;
    case 'installation.reactivate':
      return `Reactivate ${app === 'an app' ? app : `app ${app}`} on ${plural(n, 'installation')}`;
    case 'tenant.soft_delete':
      return `Soft-delete ${plural(n, 'tenant')} (mark for deletion; restorable until the retention ends)`;
    case 'tenant.restore':
      return `Restore ${plural(n, 'soft-deleted tenant')}`;
    case 'tenant.purge':
      return `PERMANENTLY erase all data of ${plural(n, 'tenant')}`;
    case 'flag.update':
    case 'flag.rollout': {
      const key = [params.flag, params.key, params.flagKey].find((v) => typeof v === 'string') ?? 'a flag';
      const env = typeof params.environment === 'string' ? ` in ${params.environment}` : '';
      // The operation describes the change itself (e.g. "enable; rollout 10 % -> 50 %") as the target's action.
      const action = plan?.waves[0]?.targets[0]?.action;
      return `${cr.operation === 'flag.rollout' ? 'Roll out' : 'Change'} flag ${String(key)}${env}${action ? `: ${action}` : ''}`;
    }
    case 'http': {
      const method = typeof params.method === 'string' ? params.method.toUpperCase() : 'Call';
      const url = typeof params.url === 'string' ? params.url : 'a downstream service';
      return `${method} ${url} once per target, on ${plural(n, 'target')}`;
    }
    default:
      return plan?.description ? `${plan.description} (${plural(n, 'target')})` : `${cr.operation} on ${plural(n, 'target')}`;
  }
}

export function isIrreversible(cr: Pick<ChangeRequest, 'plan' | 'risk' | 'operation'>): boolean {
  return Boolean(cr.plan?.summary.irreversible || cr.plan?.risk === 'irreversible' || cr.risk === 'irreversible' || cr.operation === 'tenant.purge');
}

export function authorOf(cr: ChangeRequest): { id: string; label: string } {
  const a = cr.author;
  if (a && typeof a === 'object') return { id: a.id, label: a.name ?? a.email ?? a.id };
  const id = (typeof a === 'string' ? a : cr.authorId) ?? '';
  return { id, label: cr.authorName ?? id };
}

/** `user:abc` and `abc` name the same person. */
export const sameUser = (a: string | undefined | null, userId: string): boolean =>
  !!a && (a === userId || a === `user:${userId}`);

export const STATUS_LABEL: Record<string, string> = {
  draft: 'Draft',
  pending: 'Awaiting approval',
  approved: 'Approved',
  rejected: 'Rejected',
  cancelled: 'Cancelled',
  expired: 'Expired',
  running: 'Running',
  paused: 'Paused',
  halted: 'Halted',
  completed: 'Completed',
  aborted: 'Aborted',
  rolling_back: 'Rolling back',
  rolled_back: 'Rolled back',
};
export const statusLabel = (s: string) => STATUS_LABEL[s] ?? s;
