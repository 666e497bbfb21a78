// The figures the execution panel draws, as plain functions of the CR: per-wave and overall done / total / failed,
// the rollback waves, and which rollout commands the state offers and why one is disabled for this user.
import { hasRole } from '../auth';
import { authorOf, isIrreversible, sameUser } from '../format';
import type { ChangeRequest, User, WaveProgress } from '../types';

export type Command = 'execute' | 'pause' | 'resume' | 'abort' | 'rollback';

export interface Bar {
  index: number;
  status: string;
  total: number;
  done: number;
  failed: number;
}

export function waveBars(cr: ChangeRequest): Bar[] {
  const sizes = cr.plan?.summary.waveSizes ?? cr.plan?.waves.map((w) => w.targets.length) ?? [];
  const source: WaveProgress[] = cr.waves && cr.waves.length ? cr.waves : sizes.map((_, i) => ({ index: i + 1 }));
  return source.map((w, i) => {
    const c = w.counts ?? {};
    const total = w.total ?? w.size ?? sizes[i] ?? Object.values(c).reduce<number>((a, b) => a + (typeof b === 'number' ? b : 0), 0);
    const failed = c.failed ?? 0;
    const done = (c.succeeded ?? 0) + failed + (c.skipped ?? 0) + (c.rolled_back ?? 0);
    return { index: w.index, status: w.status ?? '', total, done, failed };
  });
}

export function overallBar(cr: ChangeRequest, waves: Bar[]): Omit<Bar, 'index' | 'status'> {
  const p = cr.progress ?? {};
  const total = cr.plan?.summary.targetCount ?? cr.targetCount ?? waves.reduce((a, w) => a + w.total, 0);
  const failed = p.failed ?? 0;
  const done = (p.succeeded ?? 0) + failed + (p.skipped ?? 0) + (p.rolled_back ?? 0);
  return { total, done, failed };
}

export function rollbackBars(cr: ChangeRequest): Bar[] {
  return (cr.rollbackWaves ?? []).map((w) => {
    const c = w.counts ?? {};
    const total = w.size ?? w.total ?? 0;
    const done = (c.rolled_back ?? 0) + (c.rollback_failed ?? 0) + (c.skipped ?? 0) + (c.succeeded ?? 0) + (c.failed ?? 0);
    return { index: w.index, status: w.status ?? '', total, done, failed: c.rollback_failed ?? 0 };
  });
}

/** Which buttons show follows the state. */
export function commandShown(cr: ChangeRequest, cmd: Command): boolean {
  switch (cmd) {
    case 'execute':
      return cr.status === 'approved';
    case 'pause':
      return cr.status === 'running';
    case 'resume':
      return cr.status === 'paused' || cr.status === 'halted';
    case 'abort':
      return cr.status === 'paused' || cr.status === 'halted';
    case 'rollback':
      return !isIrreversible(cr) && ['completed', 'aborted', 'halted', 'paused'].includes(cr.status);
  }
}

/** Whether a shown button is enabled also follows what the service offers this user. */
export function commandBlocked(cr: ChangeRequest, user: User, cmd: Command): string | null {
  if (!hasRole(user, 'maker', 'checker', 'admin')) return 'needs the maker, checker or admin role';
  if (cmd === 'rollback' && isIrreversible(cr)) return 'this operation is irreversible';
  if (cmd === 'resume' && cr.status === 'halted') {
    if (!hasRole(user, 'checker')) return 'resuming a halted rollout needs a checker';
    if (sameUser(authorOf(cr).id, user.id)) return 'resuming a halted rollout needs a checker other than the author';
  }
  const offered = cr.availableCommands ?? cr.allowedActions;
  if (offered && !offered.includes(cmd)) return 'not available to you in this state';
  return null;
}
