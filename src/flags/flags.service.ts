// The flags admin API's use cases: list and read flags, create and update a flag's fields, and change a flag in one
// environment (directly, or through a `flag.update` change request where the environment requires one). The parts
// live beside it: flag.views.ts (what a read returns), flag-environment.changes.ts (plan, apply and the
// read-modify-write of one environment, used here and by the flag operations), domain/flag-dependencies.ts (the
// dependencies check) and domain/flag-config.validator.ts (a configuration's validation).
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { decodeCursor, encodeCursor } from '../common/cursor';
import { conflict, ErrorDetail, notFound } from '../common/errors';
import { actorId, Principal } from '../common/principal';
import { Tx, TransactionRunner } from '../common/transaction';
import { EnvironmentEntity } from '../environments/environment.entity';
import { validateFlagEnvironment } from './domain/flag-config.validator';
import { checkDependencies } from './domain/flag-dependencies';
import { FeatureDependency, FlagEnvironmentConfig, FlagType } from './domain/flag.model';
import { configHash } from './domain/snapshot.builder';
import {
  applyChange,
  editEnvironment,
  EMPTY_CONFIG,
  FlagEnvironmentChange,
  planChange,
  validationContext,
} from './flag-environment.changes';
import { invalid } from './flag.errors';
import { FlagEntity, FlagEnvironmentEntity } from './flag.entity';
import { flagViews, FlagEnvironmentView, FlagView } from './flag.views';
import { SnapshotService } from './snapshot.service';

/** Opens (and submits) a `flag.update` change request; set by FlagChangeRequestsModule. */
export type FlagChangeRequestOpener = (
  p: Principal,
  change: FlagEnvironmentChange,
  meta: { justification?: string; ticket?: string },
) => Promise<unknown>;

export type PutEnvironmentResult =
  { status: 200; environment: FlagEnvironmentView } | { status: 202; changeRequest: unknown };

interface CreateFlagInput {
  key: string;
  description?: string;
  type?: FlagType;
  tags?: string[];
  impressionData?: boolean;
  dependencies?: unknown[];
  environments?: Record<string, unknown>;
}

const isString = (v: unknown): v is string => typeof v === 'string';

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
    const views = await flagViews(this.dataSource, page);
    return {
      items: views,
      ...(rows.length > limit ? { nextCursor: encodeCursor(page[page.length - 1].key) } : {}),
    };
  }

  async get(key: string): Promise<FlagView> {
    const row = await this.dataSource.getRepository(FlagEntity).findOne({ where: { key } });
    if (!row) throw notFound('FLAG.NOT_FOUND', `No flag ${key}`);
    return (await flagViews(this.dataSource, [row]))[0];
  }

  async create(actor: string, input: CreateFlagInput): Promise<FlagView> {
    const touched = await this.tx.run(async (tx) => {
      if (await tx.manager.findOne(FlagEntity, { where: { key: input.key } })) {
        throw conflict('FLAG.EXISTS', `A flag ${input.key} already exists`, [
          { field: 'key', reason: 'already exists' },
        ]);
      }
      const dependencies = await dependenciesOf(tx, input.key, input.dependencies ?? []);
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
      const configs = await initialConfigs(tx, input.key, envs, input.environments ?? {});
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
        row.dependencies = await dependenciesOf(tx, key, input.dependencies);
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
      return { env, change: await planChange(tx, key, environment, config, expectedVersion) };
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
    await this.tx.run((tx) => applyChange(tx, actor, change, {}));
    await this.snapshots.refresh(environment);
    return { status: 200, environment: (await this.get(key)).environments[environment] };
  }

  /** The change `input` makes to the flag environment, validated; 422 naming each bad field. */
  planChange(
    tx: Tx,
    key: string,
    environment: string,
    input: unknown,
    expectedVersion?: number,
  ): Promise<FlagEnvironmentChange> {
    return planChange(tx, key, environment, input, expectedVersion);
  }

  /** Writes a planned change inside the caller's transaction; FLAG.DRIFT when the environment moved since. */
  applyChange(
    tx: Tx,
    actor: string,
    change: FlagEnvironmentChange,
    via: { changeRequestId?: string },
  ): Promise<{ version: number }> {
    return applyChange(tx, actor, change, via);
  }

  /** Read-modify-write of one flag environment in the caller's transaction (`flag.rollout`); see the function. */
  editEnvironment(
    tx: Tx,
    actor: string,
    key: string,
    environment: string,
    edit: (current: FlagEnvironmentConfig) => FlagEnvironmentConfig | null,
    via: { changeRequestId?: string },
  ): Promise<{ version: number; changed: boolean }> {
    return editEnvironment(
      tx,
      actor,
      key,
      environment,
      edit,
      via,
      () => void this.snapshots.refresh(environment),
    );
  }

  /** Whether the flag (not archived) and the environment exist, as the served snapshots know them. */
  servedFlag(environment: string, key: string): 'ok' | 'no-environment' | 'no-flag' {
    const s = this.snapshots.get(environment);
    if (!s) return 'no-environment';
    return s.json.features.some((f) => f.name === key) ? 'ok' : 'no-flag';
  }
}

/** The validated dependencies of flag `key`, checked against every flag there is; 422 naming each bad field. */
async function dependenciesOf(tx: Tx, key: string, raw: unknown[]): Promise<FeatureDependency[]> {
  const flags = raw.length > 0 ? await tx.manager.find(FlagEntity) : [];
  const result = checkDependencies(key, raw, flags);
  if (!result.ok) throw invalid(result.errors);
  return result.value;
}

/** The configurations a new flag is created with, validated per environment; 422 naming `environments.<env>…`. */
async function initialConfigs(
  tx: Tx,
  key: string,
  envs: EnvironmentEntity[],
  raw: Record<string, unknown>,
): Promise<Array<[EnvironmentEntity, FlagEnvironmentConfig]>> {
  const errors: ErrorDetail[] = [];
  const configs: Array<[EnvironmentEntity, FlagEnvironmentConfig]> = [];
  for (const [name, config] of Object.entries(raw)) {
    const env = envs.find((e) => e.name === name);
    if (!env) {
      errors.push({ field: `environments.${name}`, reason: 'no such environment' });
      continue;
    }
    if (env.requiresChangeRequest) {
      errors.push({
        field: `environments.${name}`,
        reason: `changes in ${name} need a change request: create the flag, then PUT /api/flags/${key}/environments/${name}`,
      });
      continue;
    }
    const result = validateFlagEnvironment(config, EMPTY_CONFIG, await validationContext(tx, key));
    if (!result.ok)
      errors.push(...result.errors.map((e) => ({ ...e, field: `environments.${name}.${e.field}` })));
    else configs.push([env, result.value]);
  }
  if (errors.length > 0) throw invalid(errors);
  return configs;
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
