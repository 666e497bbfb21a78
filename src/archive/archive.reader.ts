import { Injectable } from '@nestjs/common';
import { conflict } from '../common/errors';
import { TransactionRunner } from '../common/transaction';
import { ARCHIVE_ERRORS, notRestorable } from './archive.errors';
import { openBase, openChange } from './archive.formats';
import { dbNow, emQuery } from './archive.sql';
import { ArchiveEntry, ArchiveManifest, chainProblems } from './archive.manifest';
import { ArchiveService } from './archive.service';
import { CHANGE_COLUMNS, isoTime, RowChange, RowChangeRecord, toRowChange } from './capture.store';
import { safeBound } from './changes.service';
import { applyChange, changesUpTo, emptyImage, freezeImage, imageFrom, TenantImage } from './tenant-image';

export type { TenantImage } from './tenant-image';

/** A captured row whose image does not parse is damaged: nothing may be rebuilt (and written) from it. */
function readChange(r: RowChangeRecord): RowChange {
  try {
    return toRowChange(r);
  } catch (e) {
    const why = `captured change ${String(r.position)} of tenant ${r.tenant_id} (${r.table_name}) does not parse: ${(e as Error).message}`;
    throw conflict(ARCHIVE_ERRORS.CORRUPT, `the capture is damaged: ${why}; refusing to restore from it`, [
      { target: `tenant:${r.tenant_id}`, reason: why },
    ]);
  }
}

export interface RestorableWindow {
  /** The oldest moment whose state can be rebuilt. */
  oldest: Date;
  /** The newest moment whose state can be rebuilt (now: the capture table is live). */
  newest: Date;
  /** The newest moment the archive's files alone hold (last segment's change or base), null before any: the RPO. */
  archivedThrough: Date | null;
}

/** Where a rebuild starts: a base file, or the empty state before the first captured change. */
interface Plan {
  base: ArchiveEntry | null;
  from: number;
  segments: ArchiveEntry[];
}

/**
 * Rebuilds tenants as they were at a moment: the last base before it plus the captured changes up to it, read from
 * the archive's segments and, past the last segment, from the capture table (docs/decisions/0014). Refuses with
 * ARCHIVE.NOT_RESTORABLE outside the restorable window or for a purged tenant, and with ARCHIVE.CORRUPT (naming file
 * and block) when a file it needs does not verify even after repair from parity. It writes nothing.
 */
@Injectable()
export class ArchiveReader {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly archive: ArchiveService,
  ) {}

  async restorableWindow(): Promise<RestorableWindow> {
    const m = await this.archive.manifest();
    const now = await this.dbNow();
    const usable = this.usable(m);
    const segs = usable.filter((e) => e.kind === 'segment');
    // A base holds the state at its read, so it archives that moment too (segments before it are pruned at once).
    const through = usable.map((e) => Date.parse(e.lastAt as string)).filter((x) => !Number.isNaN(x));
    const archivedThrough = through.length ? new Date(Math.max(...through)) : null;
    const starts: number[] = usable
      .filter((e) => e.kind === 'base')
      .map((e) => Date.parse(e.lastAt as string));
    // Without pruning, the history starts at position 0: the first segment (or, before any, the capture table).
    if (
      usable.length === m.entries.filter((e) => !m.pruned[String(e.seq)]).length &&
      !Object.keys(m.pruned).length
    ) {
      const first = await this.firstCapturedAt();
      if (segs[0]?.after === 0) starts.push(Date.parse(segs[0].firstAt as string));
      else if (m.entries.length === 0 && first) starts.push(Date.parse(first));
    }
    const oldest = starts.length ? new Date(Math.min(...starts)) : now;
    return { oldest, newest: now, archivedThrough };
  }

  async rowsAt(tenantIds: string[], at: Date): Promise<Map<string, TenantImage>> {
    const window = await this.restorableWindow();
    if (at.getTime() < window.oldest.getTime() || at.getTime() > window.newest.getTime())
      throw notRestorable(
        `${at.toISOString()} is outside the restorable window (${window.oldest.toISOString()} to ${window.newest.toISOString()})`,
      );
    const ids = [...new Set(tenantIds)];
    const m = await this.archive.manifest();
    const plan = this.plan(m, at);
    const keys = await this.archive.tenantKeys(ids);
    const images = new Map(ids.map((id) => [id, emptyImage()]));
    if (plan.base) {
      const base = await this.archive.readBase(plan.base);
      for (const id of ids) {
        if (base.purged.includes(id)) throw purged(id);
        const key = keys.get(id);
        if (base.tenants[id] && !key) throw purged(id);
        const tables = key ? openBase(base, id, key) : undefined;
        if (tables) images.set(id, imageFrom(tables));
      }
    }
    const wanted = new Set(ids);
    const changes: RowChange[] = [];
    let through = plan.from;
    // Transactions cut by a segment's end (the entry's `continues`): the segments after it are read too, even those
    // whose changes are all later than the moment, until each such transaction is finished, so that it is judged
    // by its last change (changesUpTo) and never applied in part.
    const open = new Set<number>();
    for (const seg of plan.segments) {
      const needed = Date.parse(seg.firstAt as string) <= at.getTime();
      if (!needed && open.size === 0) continue;
      const file = await this.archive.readSegment(seg);
      const goesOn = new Set(seg.continues ?? []);
      for (const c of file.changes) {
        if (c.tx !== null) {
          if (goesOn.has(c.tx)) {
            if (needed || open.has(c.tx)) open.add(c.tx);
          } else open.delete(c.tx);
        }
        if (c.p <= plan.from || !wanted.has(c.tenant)) continue;
        const key = keys.get(c.tenant);
        if (c.op !== 'P' && c.img && !key) throw purged(c.tenant);
        changes.push(openChange(c, key));
      }
      through = Math.max(through, seg.to);
    }
    changes.push(...(await this.captured(ids, through)));
    changes.sort((a, b) => a.position - b.position);
    const byTenant = new Map<string, RowChange[]>(ids.map((id) => [id, []]));
    for (const c of changes) byTenant.get(c.tenantId)?.push(c);
    const out = new Map<string, TenantImage>();
    for (const id of ids) {
      const list = byTenant.get(id) as RowChange[];
      if (list.some((c) => c.op === 'P')) throw purged(id);
      const img = images.get(id) ?? emptyImage();
      for (const c of changesUpTo(list, at.getTime())) applyChange(img, c);
      out.set(id, freezeImage(img));
    }
    return out;
  }

  /** Entries that can be used: the newest run of the manifest with no gap, break or missing segment in it. */
  private usable(m: ArchiveManifest): ArchiveEntry[] {
    const live = m.entries.filter((e) => !m.pruned[String(e.seq)]);
    const broken = new Set(chainProblems(m).map((p) => p.seq));
    let start = 0;
    live.forEach((e, i) => {
      if (broken.has(e.seq)) start = i + (e.kind === 'base' ? 0 : 1);
    });
    return live.slice(start);
  }

  private plan(m: ArchiveManifest, at: Date): Plan {
    const usable = this.usable(m);
    const bases = usable.filter((e) => e.kind === 'base' && Date.parse(e.lastAt as string) <= at.getTime());
    const base = bases.length ? bases[bases.length - 1] : null;
    const from = base ? base.to : 0;
    // A segment whose every change is later than the moment is read only to finish a transaction (rowsAt).
    const segments = usable.filter((e) => e.kind === 'segment' && e.to > from);
    return { base, from, segments };
  }

  private async captured(ids: string[], after: number): Promise<RowChange[]> {
    const pg = this.tx.isPostgres;
    return this.tx.read(async (m) => {
      const bound = await safeBound(m);
      const all: RowChange[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const marks = chunk.map((_, j) => (pg ? `$${j + 3}` : '?')).join(', ');
        const rows = (await m.query(
          `SELECT ${CHANGE_COLUMNS} FROM row_changes WHERE position > ${pg ? '$1' : '?'} AND position <= ${pg ? '$2' : '?'} AND tenant_id IN (${marks}) ORDER BY position`,
          [after, bound, ...chunk],
        )) as RowChangeRecord[];
        all.push(...rows.map(readChange));
      }
      return all;
    });
  }

  private async firstCapturedAt(): Promise<string | null> {
    const first = await this.tx.read(
      (m) =>
        m.query('SELECT changed_at FROM row_changes ORDER BY position LIMIT 1') as Promise<
          Array<{ changed_at: string | Date }>
        >,
    );
    return first[0] ? isoTime(first[0].changed_at) : null;
  }

  private async dbNow(): Promise<Date> {
    return new Date(await this.tx.read((m) => dbNow(emQuery(m), this.tx.isPostgres)));
  }
}

const purged = (id: string) => notRestorable(`tenant ${id} was purged; its history was erased`, id);
