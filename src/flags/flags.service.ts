import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import { decodeCursor, encodeCursor } from '../common/cursor';
import { conflict, ErrorDetail, notFound, unprocessable } from '../common/errors';
import { actorId, Principal } from '../common/principal';
import { Tx, TransactionRunner } from '../common/transaction';
import { EnvironmentEntity } from '../environments/environment.entity';
import { validateFlagEnvironment } from './domain/flag-config.validator';
import { FeatureDependency, FLAG_KEY_RE, FlagEnvironmentConfig, FlagType } from './domain/flag.model';
import { configHash } from './domain/snapshot.builder';
import { FlagEntity, FlagEnvironmentEntity, SegmentEntity } from './flag.entity';
import { SnapshotService } from './snapshot.service';

export interface FlagEnvironmentView extends FlagEnvironmentConfig {
  environment: string;
  requiresChangeRequest: boolean;
  version: number;
  updatedAt: Date | null;
  updatedBy: string | null;
}

export interface FlagView {
  key: string;
  description: string | null;
  type: string;
  tags: string[];
  impressionData: boolean;
  dependencies: FeatureDependency[];
  archived: boolean;
  archivedAt: Date | null;
  version: number;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  environments: Record<string, FlagEnvironmentView>;
}

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

/** Opens (and submits) a `flag.update` change request; set by FlagChangeRequestsModule. */
export type FlagChangeRequestOpener = (
  p: Principal,
  change: FlagEnvironmentChange,
  meta: { justification?: string; ticket?: string },
) => Promise<unknown>;

export type PutEnvironmentResult =
  { status: 200; environment: FlagEnvironmentView } | { status: 202; changeRequest: unknown };

const isString = (v: unknown): v is string => typeof v === 'string';

export const EMPTY_CONFIG: FlagEnvironmentConfig = { enabled: false, strategies: [], variants: [] };

@Injectable()
export class FlagsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tx: TransactionRunner,
    private readonly snapshots: SnapshotService,
  ) {}

  private crOpener?: FlagChangeRequestOpener;

  setChangeRequestOpener(opener: FlagChangeRequestOpener): void {
    this.crOpener = opener;
  }

  refreshSnapshot(environment: string): Promise<void> {
    return this.snapshots.refresh(environment);
  }

  async list(q: { q?: string; tag?: string; archived?: 'true' | 'false'; cursor?: string; limit?: number }) {
    const limit = q.limit ?? 200;
    const after = decodeCursor(q.cursor, isString);
    const qb = this.dataSource
      .getRepository(FlagEntity)
      .createQueryBuilder('f')
      .orderBy('f.key', 'ASC')
      .limit(limit + 1);
    qb.where('f.archived = :archived', { archived: q.archived === 'true' });
    if (after) qb.andWhere('f.key > :after', { after });
    if (q.q)
      qb.andWhere('(LOWER(f.key) LIKE :q OR LOWER(f.description) LIKE :q)', { q: `%${q.q.toLowerCase()}%` });
    let rows = await qb.getMany();
    if (q.tag) rows = rows.filter((r) => r.tags.includes(q.tag as string));
    const page = rows.slice(0, limit);
    const views = await this.views(page);
    return {
      items: views,
      ...(rows.length > limit ? { nextCursor: encodeCursor(page[page.length - 1].key) } : {}),
    };
  }

  async get(key: string): Promise<FlagView> {
    const row = await this.dataSource.getRepository(FlagEntity).findOne({ where: { key } });
    if (!row) throw notFound('FLAG.NOT_FOUND', `No flag ${key}`);
    return (await this.views([row]))[0];
  }

  private async views(rows: FlagEntity[]): Promise<FlagView[]> {
    if (rows.length === 0) return [];
    const envs = await this.dataSource
      .getRepository(EnvironmentEntity)
      .find({ order: { sortOrder: 'ASC', name: 'ASC' } });
    const configs = await this.dataSource
      .getRepository(FlagEnvironmentEntity)
      .find({ where: { flagKey: In(rows.map((r) => r.key)) } });
    const byFlag = new Map<string, Map<string, FlagEnvironmentEntity>>();
    for (const c of configs) {
      if (!byFlag.has(c.flagKey)) byFlag.set(c.flagKey, new Map());
      byFlag.get(c.flagKey)?.set(c.environment, c);
    }
    return rows.map((f) => {
      const environments: Record<string, FlagEnvironmentView> = {};
      for (const e of envs) environments[e.name] = envView(e, byFlag.get(f.key)?.get(e.name));
      return {
        key: f.key,
        description: f.description,
        type: f.type,
        tags: f.tags,
        impressionData: f.impressionData,
        dependencies: f.dependencies,
        archived: f.archived,
        archivedAt: f.archivedAt,
        version: f.version,
        createdBy: f.createdBy,
        createdAt: f.createdAt,
        updatedAt: f.updatedAt,
        environments,
      };
    });
  }

  async create(
    actor: string,
    input: {
      key: string;
      description?: string;
      type?: FlagType;
      tags?: string[];
      impressionData?: boolean;
      dependencies?: unknown[];
      environments?: Record<string, unknown>;
    },
  ): Promise<FlagView> {
    const touched = await this.tx.run(async (tx) => {
      if (await tx.manager.findOne(FlagEntity, { where: { key: input.key } })) {
        throw conflict('FLAG.EXISTS', `A flag ${input.key} already exists`, [
          { field: 'key', reason: 'already exists' },
        ]);
      }
      const dependencies = await this.checkDependencies(tx, input.key, input.dependencies ?? []);
      const row = Object.assign(new FlagEntity(), {
        key: input.key,
        description: input.description ?? null,
        type: input.type ?? 'release',
        tags: [...new Set(input.tags ?? [])],
        impressionData: input.impressionData ?? false,
        dependencies,
        archived: false,
        archivedAt: null,
        version: 1,
        createdBy: actor,
        createdAt: tx.now,
        updatedAt: tx.now,
      });
      await tx.manager.insert(FlagEntity, row);
      const envs = await tx.manager.find(EnvironmentEntity);
      const errors: ErrorDetail[] = [];
      const configs: Array<[EnvironmentEntity, FlagEnvironmentConfig]> = [];
      for (const [name, raw] of Object.entries(input.environments ?? {})) {
        const env = envs.find((e) => e.name === name);
        if (!env) {
          errors.push({ field: `environments.${name}`, reason: 'no such environment' });
          continue;
        }
        if (env.requiresChangeRequest) {
          errors.push({
            field: `environments.${name}`,
            reason: `changes in ${name} need a change request: create the flag, then PUT /api/flags/${input.key}/environments/${name}`,
          });
          continue;
        }
        const result = validateFlagEnvironment(
          raw,
          EMPTY_CONFIG,
          await this.validationContext(tx, input.key),
        );
        if (!result.ok)
          errors.push(...result.errors.map((e) => ({ ...e, field: `environments.${name}.${e.field}` })));
        else configs.push([env, result.value]);
      }
      if (errors.length > 0) throw invalid(errors);
      for (const env of envs) {
        const config = configs.find(([e]) => e.name === env.name)?.[1] ?? EMPTY_CONFIG;
        await tx.manager.insert(FlagEnvironmentEntity, {
          flagKey: row.key,
          environment: env.name,
          ...config,
          version: 1,
          updatedBy: actor,
          updatedAt: tx.now,
        });
      }
      const data = {
        type: row.type,
        environments: configs.map(([e, c]) => ({ environment: e.name, hash: configHash(c) })),
      };
      tx.audit({ actor, action: 'flag.created', entityType: 'flag', entityId: row.key, data });
      tx.emit({
        type: 'flag.created',
        entityType: 'flag',
        entityId: row.key,
        actor,
        data: { type: row.type },
      });
      return envs.map((e) => e.name);
    });
    await Promise.all(touched.map((e) => this.snapshots.refresh(e)));
    return this.get(input.key);
  }

  async update(
    actor: string,
    key: string,
    input: {
      description?: string;
      type?: FlagType;
      tags?: string[];
      impressionData?: boolean;
      dependencies?: unknown[];
      archived?: boolean;
    },
  ): Promise<FlagView> {
    const changed = await this.tx.run(async (tx) => {
      const row = await tx.manager.findOne(FlagEntity, { where: { key } });
      if (!row) throw notFound('FLAG.NOT_FOUND', `No flag ${key}`);
      const before = flagFields(row);
      if (input.description !== undefined) row.description = input.description || null;
      if (input.type !== undefined) row.type = input.type;
      if (input.tags !== undefined) row.tags = [...new Set(input.tags)];
      if (input.impressionData !== undefined) row.impressionData = input.impressionData;
      if (input.dependencies !== undefined)
        row.dependencies = await this.checkDependencies(tx, key, input.dependencies);
      let type = 'flag.updated';
      if (input.archived !== undefined && input.archived !== row.archived) {
        if (input.archived) {
          const children = (await tx.manager.find(FlagEntity, { where: { archived: false } })).filter((f) =>
            f.dependencies.some((d) => d.feature === key),
          );
          if (children.length > 0) {
            throw conflict(
              'FLAG.HAS_DEPENDENTS',
              `${key} is a parent of ${children.map((c) => c.key).join(', ')}`,
              [{ field: 'archived', reason: `flags depend on it: ${children.map((c) => c.key).join(', ')}` }],
            );
          }
        }
        row.archived = input.archived;
        row.archivedAt = input.archived ? tx.now : null;
        type = input.archived ? 'flag.archived' : 'flag.unarchived';
      }
      const after = flagFields(row);
      if (JSON.stringify(before) === JSON.stringify(after)) return false;
      row.version += 1;
      row.updatedAt = tx.now;
      await tx.manager.update(
        FlagEntity,
        { key },
        { ...after, archivedAt: row.archivedAt, version: row.version, updatedAt: tx.now },
      );
      const data = {
        version: row.version,
        fields: Object.keys(after).filter(
          (k) =>
            JSON.stringify(before[k as keyof typeof before]) !==
            JSON.stringify(after[k as keyof typeof after]),
        ),
      };
      tx.audit({ actor, action: type, entityType: 'flag', entityId: key, data });
      tx.emit({ type, entityType: 'flag', entityId: key, actor, data });
      return true;
    });
    if (changed) await this.snapshots.refreshAll();
    return this.get(key);
  }

  /**
   * Changes a flag in one environment. Where the environment requires change requests this opens a `flag.update`
   * change request (202) instead of changing anything.
   */
  async putEnvironment(
    p: Principal,
    key: string,
    environment: string,
    input: {
      enabled?: boolean;
      strategies?: unknown[];
      variants?: unknown[];
      expectedVersion?: number;
      justification?: string;
      ticket?: string;
    },
  ): Promise<PutEnvironmentResult> {
    const { expectedVersion, justification, ticket, ...config } = input;
    const actor = actorId(p);
    const { env, change } = await this.tx.run(async (tx) => {
      const env = await tx.manager.findOne(EnvironmentEntity, { where: { name: environment } });
      if (!env) throw notFound('ENVIRONMENT.NOT_FOUND', `No environment ${environment}`);
      return { env, change: await this.planChange(tx, key, environment, config, expectedVersion) };
    });
    if (env.requiresChangeRequest) {
      if (!this.crOpener) {
        throw conflict(
          'FLAG.CHANGE_REQUEST_UNAVAILABLE',
          `${environment} requires change requests, and change requests are not available in this build`,
        );
      }
      return {
        status: 202,
        changeRequest: await this.crOpener(p, change, { justification, ticket }),
      };
    }
    await this.tx.run((tx) => this.applyChange(tx, actor, change, {}));
    await this.snapshots.refresh(environment);
    return { status: 200, environment: (await this.get(key)).environments[environment] };
  }

  /** The change `input` makes to the flag environment, validated; 422 naming each bad field. */
  async planChange(
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
      ...(await this.validationContext(tx, key)),
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
  async applyChange(
    tx: Tx,
    actor: string,
    change: FlagEnvironmentChange,
    via: { changeRequestId?: string },
  ): Promise<{ version: number }> {
    const flag = await tx.manager.findOne(FlagEntity, { where: { key: change.flag } });
    if (!flag || flag.archived)
      throw conflict('FLAG.DRIFT', `${change.flag} no longer exists or is archived`);
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
   * new configuration, `null` for no change, or throws. Audited and emitted as `flag.updated`, like any change.
   */
  async editEnvironment(
    tx: Tx,
    actor: string,
    key: string,
    environment: string,
    edit: (current: FlagEnvironmentConfig) => FlagEnvironmentConfig | null,
    via: { changeRequestId?: string },
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
      const values = { ...after, version, updatedBy: actor, updatedAt: tx.now };
      if (row) {
        const res = await m
          .createQueryBuilder()
          .update(FlagEnvironmentEntity)
          .set(values)
          .where('flag_key = :key AND environment = :environment AND version = :current', {
            key,
            environment,
            current,
          })
          .execute();
        if (res.affected !== 1) continue;
      } else {
        try {
          await m.transaction((sp) =>
            sp.insert(FlagEnvironmentEntity, { flagKey: key, environment, ...values }),
          );
        } catch {
          continue; // inserted concurrently: read it again
        }
      }
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
      tx.afterCommit(() => void this.snapshots.refresh(environment));
      return { version, changed: true };
    }
    throw conflict('FLAG.CONCURRENT_UPDATE', `${key} in ${environment} kept changing; try again`);
  }

  /** Whether the flag (not archived) and the environment exist, as the served snapshots know them. */
  servedFlag(environment: string, key: string): 'ok' | 'no-environment' | 'no-flag' {
    const s = this.snapshots.get(environment);
    if (!s) return 'no-environment';
    return s.json.features.some((f) => f.name === key) ? 'ok' : 'no-flag';
  }

  private async validationContext(tx: Tx, flagKey: string) {
    const segments = await tx.manager.find(SegmentEntity, { select: { id: true } });
    return { flagKey, segmentIds: new Set(segments.map((s) => s.id)), newId: () => randomUUID() };
  }

  private async checkDependencies(tx: Tx, key: string, raw: unknown[]): Promise<FeatureDependency[]> {
    const errors: ErrorDetail[] = [];
    const out: FeatureDependency[] = [];
    for (const [i, d] of raw.entries()) {
      const at = `dependencies[${i}]`;
      if (typeof d !== 'object' || d === null || Array.isArray(d)) {
        errors.push({ field: at, reason: 'must be an object {feature, enabled?, variants?}' });
        continue;
      }
      const { feature, enabled, variants, ...rest } = d as Record<string, unknown>;
      for (const k of Object.keys(rest)) errors.push({ field: `${at}.${k}`, reason: 'unknown field' });
      if (typeof feature !== 'string' || !FLAG_KEY_RE.test(feature)) {
        errors.push({ field: `${at}.feature`, reason: 'must be a flag key' });
        continue;
      }
      if (feature === key) {
        errors.push({ field: `${at}.feature`, reason: 'a flag cannot depend on itself' });
        continue;
      }
      const parent = await tx.manager.findOne(FlagEntity, { where: { key: feature } });
      if (!parent) errors.push({ field: `${at}.feature`, reason: `no flag ${feature}` });
      else if (parent.dependencies.length > 0) {
        errors.push({
          field: `${at}.feature`,
          reason: `${feature} has parents itself; dependencies are one level deep`,
        });
      }
      const dep: FeatureDependency = { feature };
      if (enabled !== undefined) {
        if (typeof enabled !== 'boolean')
          errors.push({ field: `${at}.enabled`, reason: 'must be a boolean' });
        else if (!enabled) dep.enabled = false;
      }
      if (variants !== undefined) {
        if (!Array.isArray(variants) || !variants.every((v) => typeof v === 'string')) {
          errors.push({ field: `${at}.variants`, reason: 'must be a list of variant names' });
        } else if (variants.length > 0) dep.variants = variants as string[];
      }
      out.push(dep);
    }
    if (raw.length > 0) {
      const children = (await tx.manager.find(FlagEntity)).filter((f) =>
        f.dependencies.some((d) => d.feature === key),
      );
      if (children.length > 0) {
        errors.push({
          field: 'dependencies',
          reason: `${children.map((c) => c.key).join(', ')} depend on ${key}; dependencies are one level deep`,
        });
      }
    }
    if (errors.length > 0) throw invalid(errors);
    return out;
  }
}

export function invalid(errors: ErrorDetail[]) {
  const first = errors.slice(0, 3).map((e) => `${e.field}: ${e.reason}`);
  return unprocessable(
    'FLAG.INVALID',
    first.join('; ') + (errors.length > 3 ? `; and ${errors.length - 3} more` : ''),
    errors,
  );
}

function envView(e: EnvironmentEntity, c: FlagEnvironmentEntity | undefined): FlagEnvironmentView {
  return {
    environment: e.name,
    requiresChangeRequest: e.requiresChangeRequest,
    enabled: c?.enabled ?? false,
    strategies: c?.strategies ?? [],
    variants: c?.variants ?? [],
    version: c?.version ?? 0,
    updatedAt: c?.updatedAt ?? null,
    updatedBy: c?.updatedBy ?? null,
  };
}

function flagFields(f: FlagEntity) {
  return {
    description: f.description,
    type: f.type,
    tags: f.tags,
    impressionData: f.impressionData,
    dependencies: f.dependencies,
    archived: f.archived,
  };
}
