// `tenant.restore` from a moment (params.source = {pointInTime} or {backupId}): plans each tenant against its rows at
// that moment, as the continuous archive rebuilds them, and writes them into the live database in the engine's
// target transaction, one tenant at a time, touching no other tenant (docs/decisions/, point-in-time restore).
import { EntityManager, In } from 'typeorm';
import { ARCHIVE_ERRORS } from '../archive/archive.errors';
import type { ArchiveReader, TenantImage } from '../archive/archive.reader';
import { conflict, DomainError, notFound, unprocessable } from '../common/errors';
import type { EngineExecutionContext } from '../operations/builtin.apply';
import {
  RestoreSource,
  RestoreSourceHandler,
  restoreSourceOf,
  TenantRestoreParams,
} from '../operations/builtin.operations';
import {
  PlannedTarget,
  ResolvedTarget,
  TargetDetail,
  TargetInspection,
  TargetTier,
} from '../operations/operation.types';
import { ErasureReceiptEntity, TenantKeyEntity } from '../snapshots/snapshot.entity';
import { SnapshotsService } from '../snapshots/snapshots.service';
import {
  countsOf,
  diffTable,
  RESTORED_TABLES,
  RowCounts,
  rowsHash,
  sumCounts,
  TenantTables,
  unwritable,
} from './domain/tenant-tables';
import { liveState, liveTables, tableShapes, writeTables } from './tenant-tables.store';

/**
 * The read side this needs from the continuous archive: `ArchiveReader` (src/archive), which rebuilds tenants from
 * the capture table today and from base + segments as the archive grows. `rowsAt` gives each tenant's rows at `at`
 * per captured table, keyed by column name (a tenant that did not exist then has no rows); it throws
 * ARCHIVE.NOT_RESTORABLE (outside the window, purged) or ARCHIVE.CORRUPT (a source that does not verify).
 */
export type PointInTimeReader = Pick<ArchiveReader, 'rowsAt'>;

/** Resolves a backup id to the moment the backup holds (its start). */
export type BackupMoment = (backupId: string) => Promise<Date>;

export const RESTORE_PITR_ERRORS = {
  PURGED: 'RESTORE.PURGED',
  ARCHIVE_CHANGED: 'RESTORE.ARCHIVE_CHANGED',
  NOT_IN_ARCHIVE: 'RESTORE.NOT_IN_ARCHIVE',
  NOT_PREFETCHED: 'RESTORE.NOT_PREFETCHED',
} as const;

/** What the plan shows per target (`detail`), and what apply checks against. */
type RestoreDetail = {
  pointInTime: string;
  backupId?: string;
  /** The tenant's status at the moment: the state it is restored to. */
  statusThen: string;
  /** Rows restored (missing now), overwritten (different now), removed (not there then), over every table. */
  rows: RowCounts;
  tables: Record<string, RowCounts>;
  /** SHA-256 of the rows to write; apply refuses if the archive no longer gives the same rows. */
  rowsHash: string;
};

const onlyRestored = (tables: Record<string, Record<string, unknown>[]> | undefined): TenantTables => {
  const out: TenantTables = {};
  for (const { table } of RESTORED_TABLES) out[table] = tables?.[table] ?? [];
  return out;
};

/**
 * An archive error that concerns some tenants only: a source that does not verify (ARCHIVE.CORRUPT) or a tenant
 * whose history cannot be read (ARCHIVE.NOT_RESTORABLE naming a target). Read alone, each tenant is refused or not.
 */
const concernsTenants = (e: unknown): e is DomainError =>
  e instanceof DomainError &&
  (e.code === ARCHIVE_ERRORS.CORRUPT ||
    (e.code === ARCHIVE_ERRORS.NOT_RESTORABLE && (e.details ?? []).some((d) => d.target)));

/** A moment outside the restorable window is a bad `params.source`: name that field. */
const asParamsError = (e: unknown): unknown =>
  e instanceof DomainError && e.code === ARCHIVE_ERRORS.NOT_RESTORABLE
    ? unprocessable(e.code, `params.source: ${e.message}`, [{ field: 'params.source', reason: e.message }])
    : e;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export class PointInTimeRestore implements RestoreSourceHandler {
  constructor(
    private readonly reader: PointInTimeReader,
    private readonly snapshots: SnapshotsService,
    private readonly backupMoment: BackupMoment,
  ) {}

  /** The moment a source names: the instant given, or the start of the named backup. */
  private async moment(source: RestoreSource): Promise<{ at: Date; backupId?: string }> {
    if (source.kind === 'point_in_time') return { at: new Date(source.at) };
    if (source.kind === 'backup')
      return { at: await this.backupMoment(source.backupId), backupId: source.backupId };
    throw new Error('the snapshot source is not a moment');
  }

  /** Tenants whose data was erased by a purge: never resurrected, whatever the archive or the inventory says. */
  private async purged(m: EntityManager, ids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      for (const r of await m.find(ErasureReceiptEntity, { where: { tenantId: In(chunk) } })) {
        out.set(
          r.tenantId,
          `purged at ${r.createdAt.toISOString()} (erasure receipt); its data is never restored`,
        );
      }
      for (const k of await m.find(TenantKeyEntity, { where: { tenantId: In(chunk) } })) {
        if (!k.wrappedKey && !out.has(k.tenantId)) {
          out.set(k.tenantId, 'purged (its data key was destroyed); its data is never restored');
        }
      }
    }
    return out;
  }

  /**
   * Reads every target, and every id the inventory does not know, at the moment: deleted tenants are resolved as
   * the archive knew them (state `absent`), purged ones and those that did not exist then are refused by name, and
   * each planned target gets its row counts and rows hash as plan detail.
   */
  async inspectTargets(
    m: EntityManager,
    request: { targets: readonly ResolvedTarget[]; unresolved: readonly string[] },
    ctx: { now: Date; params: TenantRestoreParams },
  ): Promise<TargetInspection> {
    const { at, backupId } = await this.moment(restoreSourceOf(ctx.params));
    const pointInTime = at.toISOString();
    if (at.getTime() > ctx.now.getTime()) {
      throw unprocessable(
        'CHANGE_REQUEST.INVALID_PARAMS',
        `params.source.pointInTime: ${pointInTime} is in the future`,
        [{ field: 'params.source.pointInTime', reason: 'is in the future' }],
      );
    }
    const live = new Map(request.targets.map((t) => [t.id, t]));
    const ids = [...live.keys(), ...request.unresolved];
    const detail = new Map<string, TargetDetail>();
    const resolved = new Map<string, ResolvedTarget>();
    const refused = await this.purged(m, ids);
    const unknown = new Map<string, string>();
    const ask = ids.filter((id) => !refused.has(id));
    const { images, failed } = await this.readAt(ask, at);
    for (const [id, reason] of failed) refused.set(id, reason);
    const shapes = await tableShapes(m);
    for (const id of ask) {
      if (failed.has(id)) continue;
      const then = onlyRestored(images.get(id)?.tables);
      const tenantThen = then.tenants[0];
      if (!tenantThen) {
        if (live.has(id)) {
          refused.set(
            id,
            `did not exist at ${pointInTime}; restoring it to that moment would delete it (use tenant.soft_delete)`,
          );
        } else {
          unknown.set(
            id,
            `no tenant "${id}" in the inventory, and none in the archive at ${pointInTime}: it did not exist then either`,
          );
        }
        continue;
      }
      if (String(tenantThen.status) === 'purged') {
        refused.set(id, `was purged at ${pointInTime}; its data is never restored`);
        continue;
      }
      const now = await liveTables(m, id);
      const tables: Record<string, RowCounts> = {};
      let why: string | null = null;
      for (const shape of shapes) {
        why = why ?? unwritable(shape, id, then[shape.table]);
        tables[shape.table] = countsOf(diffTable(shape, then[shape.table], now[shape.table] ?? []));
      }
      if (why) {
        refused.set(id, `cannot be written back: ${why}`);
        continue;
      }
      if (!live.has(id)) resolved.set(id, this.absentTarget(id, then));
      detail.set(id, {
        pointInTime,
        ...(backupId ? { backupId } : {}),
        statusThen: String(tenantThen.status),
        rows: sumCounts(Object.values(tables)),
        tables,
        rowsHash: rowsHash(shapes, then),
      } satisfies RestoreDetail);
    }
    return { detail, resolved, refused, unknown };
  }

  /**
   * The archive's rows at `at`. A source that does not verify (ARCHIVE.CORRUPT) refuses only the tenants it
   * concerns: on that error each tenant is read alone, and those that fail are named with the archive's message.
   */
  private async readAt(
    ids: readonly string[],
    at: Date,
  ): Promise<{ images: Map<string, TenantImage>; failed: Map<string, string> }> {
    const failed = new Map<string, string>();
    if (ids.length === 0) return { images: new Map(), failed };
    try {
      return { images: await this.reader.rowsAt([...ids], at), failed };
    } catch (e) {
      if (!concernsTenants(e)) throw asParamsError(e);
    }
    const images = new Map<string, TenantImage>();
    for (const id of ids) {
      try {
        for (const [k, v] of await this.reader.rowsAt([id], at)) images.set(k, v);
      } catch (e) {
        if (!concernsTenants(e)) throw asParamsError(e);
        failed.set(id, `${(e as DomainError).message} (${(e as DomainError).code})`);
      }
    }
    return { images, failed };
  }

  /** A tenant the inventory no longer has (its rows were deleted outright), as the archive knew it. */
  private absentTarget(id: string, then: TenantTables | undefined): ResolvedTarget {
    const t = then?.tenants[0];
    return {
      type: 'tenant',
      id,
      tenantId: id,
      name: typeof t?.name === 'string' ? t.name : id,
      tier: (['internal', 'standard', 'key'].includes(String(t?.tier)) ? t?.tier : 'standard') as TargetTier,
      region: typeof t?.region === 'string' ? t.region : null,
      state: 'absent',
      apps: (then?.installations ?? []).map((i) => String(i.app_key)).sort(),
    };
  }

  /** Any live tenant can be put back to a moment, except a purged one (its data is never restored). */
  checkEligible(t: ResolvedTarget): string | null {
    return t.state === 'purged' ? 'purged; its data is never restored' : null;
  }

  describe(t: ResolvedTarget): { action: string; to: string } {
    const d = t.detail as RestoreDetail | undefined;
    if (!d) return { action: 'restore to a moment', to: 'active' };
    return {
      action:
        `restore to ${d.pointInTime}${d.backupId ? ` (backup ${d.backupId})` : ''}: ` +
        `${plural(d.rows.restored, 'row')} restored, ${d.rows.overwritten} overwritten, ${d.rows.removed} removed`,
      to: d.statusThen,
    };
  }

  /** Outside the target transactions, once per batch: the archive read (it may touch files on disk). */
  async prefetch(targets: readonly PlannedTarget[]): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    const byMoment = new Map<string, string[]>();
    for (const t of targets) {
      const at = (t.detail as { pointInTime?: string } | undefined)?.pointInTime;
      if (!at) continue;
      byMoment.set(at, [...(byMoment.get(at) ?? []), t.tenantId]);
    }
    for (const [at, ids] of byMoment) {
      try {
        const images = await this.reader.rowsAt(ids, new Date(at));
        for (const id of ids) out.set(id, onlyRestored(images.get(id)?.tables));
      } catch {
        // Read each tenant alone: only those the archive's error concerns fail (ARCHIVE.CORRUPT names the source),
        // with nothing written; the others of the batch are restored.
        for (const id of ids) {
          try {
            const images = await this.reader.rowsAt([id], new Date(at));
            out.set(id, onlyRestored(images.get(id)?.tables));
          } catch (e) {
            out.set(id, e);
          }
        }
      }
    }
    return out;
  }

  async apply(t: PlannedTarget, ctx: EngineExecutionContext<TenantRestoreParams>): Promise<void> {
    const m = ctx.tx.manager;
    const detail = t.detail as { pointInTime: string; rowsHash: string } | undefined;
    if (!detail?.rowsHash)
      throw conflict('ROLLOUT.DRIFT', `tenant ${t.tenantId}: the plan holds no rows to restore`);
    const purged = await this.purged(m, [t.tenantId]);
    if (purged.has(t.tenantId)) {
      throw unprocessable(
        RESTORE_PITR_ERRORS.PURGED,
        `tenant ${t.tenantId} was ${purged.get(t.tenantId) as string}`,
      );
    }
    const state = await liveState(m, t.tenantId);
    if (state !== t.state) {
      throw conflict(
        'ROLLOUT.DRIFT',
        `drift: tenant:${t.tenantId} is ${state}, the plan expected ${t.state}`,
      );
    }
    const then = await this.rowsOf(t, ctx, detail.pointInTime);
    const shapes = await tableShapes(m);
    if (rowsHash(shapes, then) !== detail.rowsHash) {
      throw conflict(
        RESTORE_PITR_ERRORS.ARCHIVE_CHANGED,
        `tenant ${t.tenantId}: the archive's rows at ${detail.pointInTime} are not the ones the plan was approved for; nothing was written`,
      );
    }
    const before = await liveTables(m, t.tenantId);
    const snap = await this.snapshots.captureTables(m, t.tenantId, before, ctx.changeRequestId, ctx.tx.now);
    ctx.result.snapshotId = snap.id;
    ctx.result.snapshotHash = snap.hash;
    const counts = await writeTables(m, t.tenantId, then);
    ctx.tx.audit({
      actor: 'system',
      action: 'tenant.restored_to_point_in_time',
      entityType: 'tenant',
      entityId: t.tenantId,
      data: {
        changeRequestId: ctx.changeRequestId,
        pointInTime: detail.pointInTime,
        rowsHash: detail.rowsHash,
        snapshotId: snap.id,
        rows: sumCounts(Object.values(counts)),
      },
    });
  }

  private async rowsOf(
    t: PlannedTarget,
    ctx: EngineExecutionContext<TenantRestoreParams>,
    pointInTime: string,
  ): Promise<TenantTables> {
    const pre = ctx.prefetched?.get(t.tenantId);
    if (pre instanceof Error) throw pre;
    if (pre) return pre as TenantTables;
    // Not prefetched (an engine path without prefetch): read inside the target's transaction.
    const images = await this.reader.rowsAt([t.tenantId], new Date(pointInTime));
    const then = onlyRestored(images.get(t.tenantId)?.tables);
    if (then.tenants.length === 0) {
      throw unprocessable(
        RESTORE_PITR_ERRORS.NOT_IN_ARCHIVE,
        `tenant ${t.tenantId} is not in the archive at ${pointInTime}; nothing was written`,
      );
    }
    return then;
  }

  /** Rollback: writes back the rows the restore found (a tenant that was absent is removed again). */
  async undo(t: PlannedTarget, ctx: EngineExecutionContext<TenantRestoreParams>): Promise<void> {
    const m = ctx.tx.manager;
    const kept = await this.snapshots.tablesTakenBy(m, t.tenantId, ctx.changeRequestId);
    if (!kept) {
      throw notFound(
        'SNAPSHOT.NOT_FOUND',
        `tenant ${t.tenantId} has no snapshot from change request ${ctx.changeRequestId} to roll back to`,
      );
    }
    ctx.result.snapshotId = kept.snapshot.id;
    ctx.result.snapshotHash = kept.snapshot.hash;
    const counts = await writeTables(m, t.tenantId, onlyRestored(kept.tables));
    ctx.tx.audit({
      actor: 'system',
      action: 'tenant.restore_rolled_back',
      entityType: 'tenant',
      entityId: t.tenantId,
      data: {
        changeRequestId: ctx.changeRequestId,
        snapshotId: kept.snapshot.id,
        rows: sumCounts(Object.values(counts)),
      },
    });
  }
}
