// apply/undo for the built-in tenant and installation operations (issue 4). Each runs inside the target's
// transaction (ctx.tx): the engine has already claimed the target; the effect, the snapshot, the audit entry and the
// outbox event commit together. Every apply first compares the inventory with the planned state (DESIGN.md rule 6):
// a target that drifted fails, it is never "fixed up".
import { EntityManager } from 'typeorm';
import { conflict, unprocessable } from '../common/errors';
import { eraseCapturedImages } from '../archive/capture.store';
import { executeWrite } from '../common/raw-statement';
import { SnapshotsService, TenantRows } from '../snapshots/snapshots.service';
import { ErasureReceiptEntity } from '../snapshots/snapshot.entity';
import { InstallationEntity, TenantEntity } from '../tenants/tenant.entity';
import { DEFAULT_RETENTION_DAYS, restoreSourceHandler, restoreSourceOf } from './builtin.operations';
import { EngineExecutionContext, ExecutionContext, Operation, PlannedTarget } from './operation.types';

// EngineExecutionContext lives in operation.types.ts (builtin.operations needs it too); re-exported for importers.
export type { EngineExecutionContext } from './operation.types';

const DAY_MS = 86_400_000;
export const DRIFT = 'ROLLOUT.DRIFT';

const drift = (t: PlannedTarget, expected: string, actual: string) =>
  conflict(DRIFT, `drift: ${t.type}:${t.id} is ${actual}, the plan expected ${expected}`);

function splitInstallation(id: string): { tenantId: string; appKey: string } {
  const i = id.indexOf('/');
  return { tenantId: id.slice(0, i), appKey: id.slice(i + 1) };
}

async function loadInstallation(m: EntityManager, t: PlannedTarget): Promise<InstallationEntity> {
  const { tenantId, appKey } = splitInstallation(t.id);
  const row = await m.findOne(InstallationEntity, { where: { tenantId, appKey } });
  if (!row) throw conflict(DRIFT, `drift: ${t.type}:${t.id} no longer exists`);
  return row;
}

async function loadTenant(m: EntityManager, t: PlannedTarget): Promise<TenantEntity> {
  const row = await m.findOne(TenantEntity, { where: { id: t.tenantId } });
  if (!row) throw conflict(DRIFT, `drift: tenant ${t.tenantId} no longer exists`);
  return row;
}

async function setInstallation(
  ctx: ExecutionContext<unknown>,
  t: PlannedTarget,
  from: 'active' | 'deactivated',
  to: 'active' | 'deactivated',
): Promise<void> {
  const m = ctx.tx.manager;
  const { tenantId, appKey } = splitInstallation(t.id);
  if (to === 'active') {
    const tenant = await loadTenant(m, t);
    if (tenant.status !== 'active') throw drift(t, 'an active tenant', `in a ${tenant.status} tenant`);
  }
  // One conditional UPDATE is both the drift check and the effect (the hot path of a large rollout); only when it
  // matches no row do we read the row to say what it is instead.
  const affected = await executeWrite(
    m,
    'UPDATE installations SET status = ?, deactivated_at = ?, updated_at = ? WHERE tenant_id = ? AND app_key = ? AND status = ?',
    [to, to === 'deactivated' ? ctx.tx.now : null, ctx.tx.now, tenantId, appKey, from],
  );
  if (affected !== 1) {
    const inst = await loadInstallation(m, t);
    throw drift(t, from, inst.status);
  }
}

const asDate = (v: unknown): Date | null => (typeof v === 'string' ? new Date(v) : null);

/** Writes a tenant's rows back exactly as a snapshot holds them; touches no other tenant. */
async function writeRows(m: EntityManager, rows: TenantRows): Promise<void> {
  const t = rows.tenant;
  await m.update(
    TenantEntity,
    { id: t.id as string },
    {
      name: t.name as string,
      tier: t.tier as TenantEntity['tier'],
      region: (t.region as string | null) ?? null,
      attributes: ((t.attributes as Record<string, unknown>) ?? {}) as never,
      status: t.status as TenantEntity['status'],
      softDeletedAt: asDate(t.softDeletedAt),
      purgeAfter: asDate(t.purgeAfter),
      createdAt: asDate(t.createdAt) as Date,
      updatedAt: asDate(t.updatedAt) as Date,
    },
  );
  await m.delete(InstallationEntity, { tenantId: t.id as string });
  for (const i of rows.installations) {
    await m.insert(InstallationEntity, {
      tenantId: i.tenantId as string,
      appKey: i.appKey as string,
      status: i.status as InstallationEntity['status'],
      data: ((i.data as Record<string, unknown>) ?? {}) as never,
      deactivatedAt: asDate(i.deactivatedAt),
      createdAt: asDate(i.createdAt) as Date,
      updatedAt: asDate(i.updatedAt) as Date,
    });
  }
}

export interface BuiltinExecutor {
  apply(target: PlannedTarget, ctx: EngineExecutionContext<never>): Promise<void>;
  undo?(target: PlannedTarget, ctx: EngineExecutionContext<never>): Promise<void>;
}

export function builtinExecutors(snapshots: SnapshotsService): Record<string, BuiltinExecutor> {
  const softDelete = async (t: PlannedTarget, ctx: EngineExecutionContext<{ retentionDays?: number }>) => {
    const m = ctx.tx.manager;
    const tenant = await loadTenant(m, t);
    if (tenant.status !== 'active') throw drift(t, 'active', tenant.status);
    const snap = await snapshots.capture(m, tenant.id, 'tenant.soft_delete', ctx.changeRequestId, ctx.tx.now);
    ctx.result.snapshotId = snap.id;
    ctx.result.snapshotHash = snap.hash;
    const retentionDays = ctx.params.retentionDays ?? DEFAULT_RETENTION_DAYS;
    const now = ctx.tx.now;
    await m.update(
      TenantEntity,
      { id: tenant.id, status: 'active' },
      {
        status: 'soft_deleted',
        softDeletedAt: now,
        purgeAfter: new Date(now.getTime() + retentionDays * DAY_MS),
        updatedAt: now,
      },
    );
    await m
      .createQueryBuilder()
      .update(InstallationEntity)
      .set({ status: 'deactivated', deactivatedAt: now, updatedAt: now })
      .where('tenant_id = :id AND status = :s', { id: tenant.id, s: 'active' })
      .execute();
  };

  const restore = async (t: PlannedTarget, ctx: EngineExecutionContext<unknown>) => {
    const m = ctx.tx.manager;
    const tenant = await loadTenant(m, t);
    if (tenant.status !== 'soft_deleted') throw drift(t, 'soft_deleted', tenant.status);
    const latest = await snapshots.latestFor(m, tenant.id);
    if (!latest)
      throw unprocessable('SNAPSHOT.NOT_FOUND', `tenant ${tenant.id} has no snapshot to restore from`);
    const { snapshot, rows } = await snapshots.read(m, latest.id);
    ctx.result.snapshotId = snapshot.id;
    ctx.result.snapshotHash = snapshot.hash;
    await writeRows(m, rows);
  };

  const purge = async (t: PlannedTarget, ctx: EngineExecutionContext<unknown>) => {
    const m = ctx.tx.manager;
    const tenant = await loadTenant(m, t);
    const now = ctx.tx.now;
    if (tenant.status !== 'soft_deleted') throw drift(t, 'soft_deleted', tenant.status);
    // Re-checked at execution time: the plan's eligibility was judged when it was built.
    if (!tenant.purgeAfter || now.getTime() < tenant.purgeAfter.getTime()) {
      throw unprocessable(
        'ROLLOUT.RETENTION_NOT_OVER',
        `tenant ${tenant.id} is still within its retention (purgeable from ${tenant.purgeAfter?.toISOString() ?? 'unknown'})`,
      );
    }
    const installations = await m.find(InstallationEntity, { where: { tenantId: tenant.id } });
    const dataEntries = installations.reduce((n, i) => n + Object.keys(i.data ?? {}).length, 0);
    await m.delete(InstallationEntity, { tenantId: tenant.id });
    const snapshotCount = await snapshots.shred(m, tenant.id, now);
    // The tenant id stays as a tombstone (status purged) so the inventory can say what happened; nothing else does.
    await m.update(
      TenantEntity,
      { id: tenant.id },
      { name: '(purged)', region: null, attributes: {} as never, status: 'purged', updatedAt: now },
    );
    const approval = await ctx.approvalRecord();
    await m.insert(ErasureReceiptEntity, {
      tenantId: tenant.id,
      changeRequestId: ctx.changeRequestId,
      receipt: {
        tenantId: tenant.id,
        changeRequestId: ctx.changeRequestId,
        revision: ctx.revision,
        planHash: approval.planHash,
        approvers: approval.approvers,
        erased: {
          tenantRecord: 'anonymised to a tombstone (id and status kept)',
          installations: installations.length,
          installationApps: installations.map((i) => i.appKey).sort(),
          installationDataEntries: dataEntries,
          snapshots: snapshotCount,
          dataKey: 'destroyed',
        },
        softDeletedAt: tenant.softDeletedAt?.toISOString() ?? null,
        erasedAt: now.toISOString(),
        idempotencyKey: ctx.idempotencyKey,
      },
      createdAt: now,
    } as never);
    // Last, so that the images of the purge's own writes (the tenant's name before the tombstone, the deleted
    // installations) are erased too.
    await eraseCapturedImages(m, tenant.id, now);
  };

  return {
    'installation.deactivate': {
      apply: (t, ctx) => setInstallation(ctx, t, 'active', 'deactivated'),
      undo: (t, ctx) => setInstallation(ctx, t, 'deactivated', 'active'),
    },
    'installation.reactivate': {
      apply: (t, ctx) => setInstallation(ctx, t, 'deactivated', 'active'),
      undo: (t, ctx) => setInstallation(ctx, t, 'active', 'deactivated'),
    },
    'tenant.soft_delete': { apply: softDelete as BuiltinExecutor['apply'], undo: restore },
    // The default source is the soft-delete snapshot (undone by a soft delete); any other source (a moment of the
    // continuous archive) is applied and undone by its handler (builtin.operations.ts, `RestoreSource`).
    'tenant.restore': {
      apply: (t, ctx) => {
        const source = restoreSourceOf(ctx.params);
        if (source.kind === 'snapshot') return restore(t, ctx);
        return restoreSourceHandler(source).apply(t, ctx as never);
      },
      undo: (t, ctx) => {
        const source = restoreSourceOf(ctx.params);
        if (source.kind === 'snapshot') {
          return softDelete(t, ctx as EngineExecutionContext<{ retentionDays?: number }>);
        }
        return restoreSourceHandler(source).undo(t, ctx as never);
      },
    },
    'tenant.purge': { apply: purge },
  };
}

/** Fills in apply/undo of the built-in operations the registry holds (those that have none yet). */
export function attachBuiltinExecutors(
  ops: (name: string) => Operation<unknown> | undefined,
  snapshots: SnapshotsService,
): void {
  for (const [name, exec] of Object.entries(builtinExecutors(snapshots))) {
    const op = ops(name) as (Operation<unknown> & { apply?: unknown; undo?: unknown }) | undefined;
    if (!op) continue;
    if (!op.apply) op.apply = exec.apply as Operation<unknown>['apply'];
    if (!op.undo && exec.undo) op.undo = exec.undo as Operation<unknown>['undo'];
  }
}
