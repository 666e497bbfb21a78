// Changing a flag in one environment, inside the caller's transaction: plan a change (validate it against the
// current configuration), apply a planned change (the admin API directly, or `flag.update` applying an approved
// change request, refused as FLAG.DRIFT when the environment moved since the plan), and the read-modify-write of
// `flag.rollout`, one tenant at a time. Each write is audited and emitted as `flag.updated`.
import { randomUUID } from 'node:crypto';
import { conflict, notFound } from '../common/errors';
import { Tx } from '../common/transaction';
import { EnvironmentEntity } from '../environments/environment.entity';
import { validateFlagEnvironment } from './domain/flag-config.validator';
import { FlagEnvironmentConfig } from './domain/flag.model';
import { configHash } from './domain/snapshot.builder';
import { invalid } from './flag.errors';
import { FlagEntity, FlagEnvironmentEntity, SegmentEntity } from './flag.entity';

export const EMPTY_CONFIG: FlagEnvironmentConfig = { enabled: false, strategies: [], variants: [] };

/** A proposed change to a flag environment, computed against its current state (the plan of `flag.update`). */
export interface FlagEnvironmentChange {
  flag: string;
  environment: string;
  beforeVersion: number;
  before: FlagEnvironmentConfig;
  after: FlagEnvironmentConfig;
  beforeHash: string;
  afterHash: string;
}

/** What the flag-config validator needs from the database: the segments that exist, and fresh strategy ids. */
export async function validationContext(tx: Tx, flagKey: string) {
  const segments = await tx.manager.find(SegmentEntity, { select: { id: true } });
  return { flagKey, segmentIds: new Set(segments.map((s) => s.id)), newId: () => randomUUID() };
}

/** The change `input` makes to the flag environment, validated; 422 naming each bad field. */
export async function planChange(
  tx: Tx,
  key: string,
  environment: string,
  input: unknown,
  expectedVersion?: number,
): Promise<FlagEnvironmentChange> {
  const flag = await tx.manager.findOne(FlagEntity, { where: { key } });
  if (!flag) throw notFound('FLAG.NOT_FOUND', `No flag ${key}`);
  if (flag.archived) throw conflict('FLAG.ARCHIVED', `${key} is archived; unarchive it first`);
  const row = await tx.manager.findOne(FlagEnvironmentEntity, { where: { flagKey: key, environment } });
  const before = row
    ? { enabled: row.enabled, strategies: row.strategies, variants: row.variants }
    : EMPTY_CONFIG;
  const beforeVersion = row?.version ?? 0;
  if (expectedVersion !== undefined && expectedVersion !== beforeVersion) {
    throw conflict(
      'FLAG.STALE_VERSION',
      `${key} in ${environment} is at version ${beforeVersion}, not ${expectedVersion}`,
      [{ field: 'expectedVersion', reason: `current version is ${beforeVersion}` }],
    );
  }
  const result = validateFlagEnvironment(input, before, {
    ...(await validationContext(tx, key)),
    previous: before.strategies,
  });
  if (!result.ok) throw invalid(result.errors);
  return {
    flag: key,
    environment,
    beforeVersion,
    before,
    after: result.value,
    beforeHash: configHash(before),
    afterHash: configHash(result.value),
  };
}

/**
 * Writes a planned change inside the caller's transaction (the admin API, or `flag.update` applying a change
 * request). Refuses with FLAG.DRIFT when the environment is no longer at the planned version.
 */
export async function applyChange(
  tx: Tx,
  actor: string,
  change: FlagEnvironmentChange,
  via: { changeRequestId?: string },
): Promise<{ version: number }> {
  const flag = await tx.manager.findOne(FlagEntity, { where: { key: change.flag } });
  if (!flag || flag.archived) throw conflict('FLAG.DRIFT', `${change.flag} no longer exists or is archived`);
  const row = await tx.manager.findOne(FlagEnvironmentEntity, {
    where: { flagKey: change.flag, environment: change.environment },
  });
  const current = row?.version ?? 0;
  if (current !== change.beforeVersion) {
    throw conflict(
      'FLAG.DRIFT',
      `${change.flag} in ${change.environment} changed since the plan (version ${current}, planned ${change.beforeVersion})`,
    );
  }
  const segmentIds = new Set(
    (await tx.manager.find(SegmentEntity, { select: { id: true } })).map((s) => s.id),
  );
  const missing = change.after.strategies.flatMap((s) => s.segments).filter((id) => !segmentIds.has(id));
  if (missing.length > 0) throw conflict('FLAG.DRIFT', `segments ${missing.join(', ')} no longer exist`);
  const version = current + 1;
  const values = { ...change.after, version, updatedBy: actor, updatedAt: tx.now };
  if (row)
    await tx.manager.update(
      FlagEnvironmentEntity,
      { flagKey: change.flag, environment: change.environment },
      values,
    );
  else
    await tx.manager.insert(FlagEnvironmentEntity, {
      flagKey: change.flag,
      environment: change.environment,
      ...values,
    });
  const data = {
    environment: change.environment,
    version,
    enabled: change.after.enabled,
    beforeHash: change.beforeHash,
    afterHash: configHash(change.after),
    ...(via.changeRequestId ? { changeRequestId: via.changeRequestId } : {}),
  };
  tx.audit({ actor, action: 'flag.updated', entityType: 'flag', entityId: change.flag, data });
  tx.emit({ type: 'flag.updated', entityType: 'flag', entityId: change.flag, actor, data });
  return { version };
}

/**
 * Read-modify-write of one flag environment inside the caller's transaction (`flag.rollout` applying or undoing
 * one tenant). The write is conditional on the version read, so concurrent writers never lose each other's
 * change (on PostgreSQL a concurrent one blocks, then matches no row, and this reads again). `edit` returns the
 * new configuration, `null` for no change, or throws. Audited and emitted as `flag.updated`, like any change;
 * `committed` runs after the commit (the service refreshes the environment's snapshot).
 */
export async function editEnvironment(
  tx: Tx,
  actor: string,
  key: string,
  environment: string,
  edit: (current: FlagEnvironmentConfig) => FlagEnvironmentConfig | null,
  via: { changeRequestId?: string },
  committed: () => void,
): Promise<{ version: number; changed: boolean }> {
  const m = tx.manager;
  for (let attempt = 0; attempt < 20; attempt++) {
    const flag = await m.findOne(FlagEntity, { where: { key } });
    if (!flag || flag.archived) throw conflict('FLAG.DRIFT', `${key} no longer exists or is archived`);
    if (!(await m.findOne(EnvironmentEntity, { where: { name: environment } })))
      throw conflict('FLAG.DRIFT', `environment ${environment} no longer exists`);
    const row = await m.findOne(FlagEnvironmentEntity, { where: { flagKey: key, environment } });
    const before: FlagEnvironmentConfig = row
      ? { enabled: row.enabled, strategies: row.strategies, variants: row.variants }
      : EMPTY_CONFIG;
    const current = row?.version ?? 0;
    const after = edit(before);
    if (after === null) return { version: current, changed: false };
    const version = current + 1;
    if (!(await writeIfAt(tx, key, environment, row !== null, current, { ...after, version, actor })))
      continue;
    const data = {
      environment,
      version,
      enabled: after.enabled,
      beforeHash: configHash(before),
      afterHash: configHash(after),
      ...(via.changeRequestId ? { changeRequestId: via.changeRequestId } : {}),
    };
    tx.audit({ actor, action: 'flag.updated', entityType: 'flag', entityId: key, data });
    tx.emit({ type: 'flag.updated', entityType: 'flag', entityId: key, actor, data });
    tx.afterCommit(committed);
    return { version, changed: true };
  }
  throw conflict('FLAG.CONCURRENT_UPDATE', `${key} in ${environment} kept changing; try again`);
}

/** Writes the configuration if the row is still at `current` (or, when there was none, if none was inserted). */
async function writeIfAt(
  tx: Tx,
  key: string,
  environment: string,
  exists: boolean,
  current: number,
  next: FlagEnvironmentConfig & { version: number; actor: string },
): Promise<boolean> {
  const { actor, ...config } = next;
  const values = { ...config, updatedBy: actor, updatedAt: tx.now };
  if (exists) {
    const res = await tx.manager
      .createQueryBuilder()
      .update(FlagEnvironmentEntity)
      .set(values)
      .where('flag_key = :key AND environment = :environment AND version = :current', {
        key,
        environment,
        current,
      })
      .execute();
    return res.affected === 1;
  }
  try {
    await tx.manager.transaction((sp) =>
      sp.insert(FlagEnvironmentEntity, { flagKey: key, environment, ...values }),
    );
    return true;
  } catch {
    return false; // inserted concurrently: read it again
  }
}
