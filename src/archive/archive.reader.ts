import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { TransactionRunner } from '../common/transaction';
import { notRestorable } from './archive.errors';
import { CHANGE_COLUMNS, isoTime, RowChange, RowChangeRecord, toRowChange } from './capture.store';
import { safeBound } from './changes.service';
import { applyChange, changesUpTo, emptyImage, freezeImage, TenantImage } from './tenant-image';

export type { TenantImage } from './tenant-image';

export interface RestorableWindow {
  /** The oldest moment whose state can be rebuilt. */
  oldest: Date;
  /** The newest moment whose state can be rebuilt. */
  newest: Date;
}

/**
 * Rebuilds tenants as they were at a moment (the read side `tenant.restore` uses; docs/decisions/0011 and 0012).
 * Refuses with ARCHIVE.NOT_RESTORABLE outside the restorable window or for a purged tenant, and with ARCHIVE.CORRUPT
 * (naming file and block) when an archive file it needs does not verify after repair.
 */
@Injectable()
export class ArchiveReader {
  constructor(
    private readonly tx: TransactionRunner,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async restorableWindow(): Promise<RestorableWindow> {
    const first = await this.tx.read(
      (m) =>
        m.query('SELECT changed_at FROM row_changes ORDER BY position LIMIT 1') as Promise<
          Array<{ changed_at: string | Date }>
        >,
    );
    const now = this.clock.now();
    // The capture table is complete from the migration on (it recorded every existing row as an insert).
    return { oldest: first[0] ? new Date(isoTime(first[0].changed_at)) : now, newest: now };
  }

  async rowsAt(tenantIds: string[], at: Date): Promise<Map<string, TenantImage>> {
    const window = await this.restorableWindow();
    if (at.getTime() < window.oldest.getTime() || at.getTime() > window.newest.getTime())
      throw notRestorable(
        `${at.toISOString()} is outside the restorable window (${window.oldest.toISOString()} to ${window.newest.toISOString()})`,
      );
    const out = new Map<string, TenantImage>();
    const ids = [...new Set(tenantIds)];
    const pg = this.tx.isPostgres;
    const changes = await this.tx.read(async (m) => {
      const bound = await safeBound(m);
      const all: RowChange[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const marks = chunk.map((_, j) => (pg ? `$${j + 2}` : '?')).join(', ');
        const rows = (await m.query(
          `SELECT ${CHANGE_COLUMNS} FROM row_changes WHERE position <= ${pg ? '$1' : '?'} AND tenant_id IN (${marks}) ORDER BY position`,
          [bound, ...chunk],
        )) as RowChangeRecord[];
        all.push(...rows.map(toRowChange));
      }
      return all.sort((a, b) => a.position - b.position);
    });
    const byTenant = new Map<string, RowChange[]>(ids.map((id) => [id, []]));
    for (const c of changes) byTenant.get(c.tenantId)?.push(c);
    for (const id of ids) {
      const list = byTenant.get(id) as RowChange[];
      const purge = list.find((c) => c.op === 'P');
      if (purge)
        throw notRestorable(`tenant ${id} was purged at ${purge.changedAt}; its history was erased`, id);
      const img = emptyImage();
      for (const c of changesUpTo(list, at.getTime())) applyChange(img, c);
      out.set(id, freezeImage(img));
    }
    return out;
  }
}
