import { Injectable, OnModuleInit } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import { sha256Hex } from '../common/canonical-json';
import { decodeCursor, encodeCursor } from '../common/cursor';
import { conflict, notFound, unprocessable } from '../common/errors';
import { TransactionRunner } from '../common/transaction';
import { OperationRegistry } from '../operations/operation.registry';
import { installationResolver, tenantResolver } from './tenant-targets.resolver';
import { AppEntity, InstallationEntity, TenantEntity, TenantStatus, TenantTier } from './tenant.entity';
import {
  capDetails,
  MAX_IMPORT_ROWS,
  TenantInput,
  validateTenant,
  validateTenantImport,
} from './tenant-input.validator';
import { tenantsFromCsv } from './tenants.csv';
import { chunks, ID_CHUNK, tenantsStore } from './tenants.store';

export interface TenantView {
  id: string;
  name: string;
  tier: TenantTier;
  region: string | null;
  attributes: Record<string, unknown>;
  status: TenantStatus;
  softDeletedAt: Date | null;
  purgeAfter: Date | null;
  createdAt: Date;
  updatedAt: Date;
  installations: {
    appKey: string;
    status: string;
    deactivatedAt: Date | null;
    data?: Record<string, unknown>;
  }[];
}

export interface TenantListQuery {
  status?: TenantStatus;
  tier?: TenantTier;
  region?: string;
  app?: string;
  q?: string;
  cursor?: string;
  limit: number;
}

const toView = (t: TenantEntity, installs: InstallationEntity[]): TenantView => ({
  id: t.id,
  name: t.name,
  tier: t.tier,
  region: t.region,
  attributes: t.attributes,
  status: t.status,
  softDeletedAt: t.softDeletedAt,
  purgeAfter: t.purgeAfter,
  createdAt: t.createdAt,
  updatedAt: t.updatedAt,
  installations: installs.map((i) => ({
    appKey: i.appKey,
    status: i.status,
    deactivatedAt: i.deactivatedAt,
    ...(i.data !== undefined ? { data: i.data } : {}),
  })),
});

const isIdCursor = (v: unknown): v is { id: string } =>
  typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'string';

@Injectable()
export class TenantsService implements OnModuleInit {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tx: TransactionRunner,
    private readonly operations: OperationRegistry,
  ) {}

  onModuleInit(): void {
    this.operations.registerResolver(tenantResolver);
    this.operations.registerResolver(installationResolver);
  }

  async createApp(actor: string, input: { key: string; name: string; legacy?: boolean }): Promise<AppEntity> {
    return this.tx.run(async (tx) => {
      if (await tx.manager.exists(AppEntity, { where: { key: input.key } })) {
        throw conflict('APP.KEY_TAKEN', `key: an app "${input.key}" already exists`, [
          { field: 'key', reason: 'already exists' },
        ]);
      }
      const app = Object.assign(new AppEntity(), {
        key: input.key,
        name: input.name.trim(),
        legacy: input.legacy ?? false,
        createdAt: tx.now,
      });
      await tx.manager.insert(AppEntity, app);
      const data = { legacy: app.legacy };
      tx.audit({ actor, action: 'app.created', entityType: 'app', entityId: app.key, data });
      tx.emit({
        type: 'app.created',
        entityType: 'app',
        entityId: app.key,
        actor,
        data: { ...data, name: app.name },
      });
      return app;
    });
  }

  async listApps(): Promise<AppEntity[]> {
    return this.dataSource.getRepository(AppEntity).find({ order: { key: 'ASC' } });
  }

  /** One tenant with its installations. */
  async createOne(actor: string, body: unknown): Promise<TenantView> {
    const apps = await tenantsStore.appKeys(this.dataSource.manager);
    const { value, details } = validateTenant(body, apps);
    if (!value)
      throw unprocessable(
        'TENANT.INVALID',
        details.map((d) => `${d.field}: ${d.reason}`).join('; '),
        details,
      );
    await this.insert(actor, [value], 'single');
    return this.get(value.id);
  }

  /** Many tenants at once: all or nothing; a bad row rejects the import with its row and field named. */
  async importMany(
    actor: string,
    rows: unknown,
    lines?: number[],
  ): Promise<{ imported: number; installations: number }> {
    if (!Array.isArray(rows) || rows.length === 0 || rows.length > MAX_IMPORT_ROWS) {
      throw unprocessable(
        'TENANT.IMPORT_INVALID',
        `tenants: must be a list of 1 to ${MAX_IMPORT_ROWS} tenants`,
        [{ field: 'tenants', reason: `must be a list of 1 to ${MAX_IMPORT_ROWS} tenants` }],
      );
    }
    const apps = await tenantsStore.appKeys(this.dataSource.manager);
    const { values, details } = validateTenantImport(rows, apps, lines ? (i) => lines[i] : undefined);
    if (details.length > 0) {
      throw unprocessable(
        'TENANT.IMPORT_INVALID',
        `The import was rejected: ${details.length} problem(s); nothing was imported`,
        details,
      );
    }
    const rowOf = new Map(values.map((v, i) => [v.id, lines ? lines[i] : i + 1]));
    return this.insert(actor, values, 'import', rowOf);
  }

  async importCsv(actor: string, text: unknown): Promise<{ imported: number; installations: number }> {
    if (typeof text !== 'string') {
      throw unprocessable('TENANT.IMPORT_INVALID', 'body: send the CSV as text/csv', [
        { field: 'body', reason: 'expected text/csv' },
      ]);
    }
    const { rows, lines } = tenantsFromCsv(text);
    return this.importMany(actor, rows, lines);
  }

  private async insert(
    actor: string,
    values: TenantInput[],
    kind: 'single' | 'import',
    rowOf?: Map<string, number>,
  ): Promise<{ imported: number; installations: number }> {
    return this.tx.run(async (tx) => {
      const taken = await tenantsStore.existingTenantIds(
        tx.manager,
        values.map((v) => v.id),
      );
      if (taken.size > 0) {
        const details = [...taken].map((id) =>
          rowOf
            ? { row: rowOf.get(id), field: 'id', reason: `tenant "${id}" already exists` }
            : { field: 'id', reason: `tenant "${id}" already exists` },
        );
        throw conflict(
          'TENANT.ID_TAKEN',
          `${taken.size} tenant id(s) already exist; nothing was imported`,
          capDetails(details),
        );
      }
      const tenants: TenantEntity[] = [];
      const installations: InstallationEntity[] = [];
      for (const v of values) {
        tenants.push(
          Object.assign(new TenantEntity(), {
            id: v.id,
            name: v.name,
            tier: v.tier,
            region: v.region,
            attributes: v.attributes,
            status: 'active',
            softDeletedAt: null,
            purgeAfter: null,
            createdAt: tx.now,
            updatedAt: tx.now,
          }),
        );
        for (const i of v.installations) {
          installations.push(
            Object.assign(new InstallationEntity(), {
              tenantId: v.id,
              appKey: i.appKey,
              status: 'active',
              data: i.data,
              deactivatedAt: null,
              createdAt: tx.now,
              updatedAt: tx.now,
            }),
          );
        }
      }
      await tenantsStore.insertTenants(tx.manager, tenants, installations);
      if (kind === 'single') {
        const t = tenants[0];
        const data = { tier: t.tier, apps: values[0].installations.map((i) => i.appKey) };
        tx.audit({ actor, action: 'tenant.created', entityType: 'tenant', entityId: t.id, data });
        tx.emit({ type: 'tenant.created', entityType: 'tenant', entityId: t.id, actor, data });
      } else {
        // One entry for the whole import: the ids are in the event, their hash in the audit chain.
        const ids = tenants.map((t) => t.id).sort();
        const audit = {
          count: ids.length,
          installations: installations.length,
          idsSha256: sha256Hex(ids.join('\n')),
        };
        tx.audit({ actor, action: 'tenant.imported', entityType: 'tenant', entityId: '*', data: audit });
        tx.emit({
          type: 'tenant.imported',
          entityType: 'tenant',
          entityId: '*',
          actor,
          data: { ...audit, ids },
        });
      }
      return { imported: tenants.length, installations: installations.length };
    });
  }

  async list(query: TenantListQuery): Promise<{ items: TenantView[]; nextCursor?: string }> {
    const after = decodeCursor(query.cursor, isIdCursor);
    const qb = this.dataSource
      .getRepository(TenantEntity)
      .createQueryBuilder('t')
      .orderBy('t.id', 'ASC')
      .take(query.limit + 1);
    if (after) qb.andWhere('t.id > :after', { after: after.id });
    if (query.status) qb.andWhere('t.status = :status', { status: query.status });
    if (query.tier) qb.andWhere('t.tier = :tier', { tier: query.tier });
    if (query.region) qb.andWhere('t.region = :region', { region: query.region });
    if (query.app) {
      qb.andWhere('EXISTS (SELECT 1 FROM installations i WHERE i.tenant_id = t.id AND i.app_key = :app)', {
        app: query.app,
      });
    }
    if (query.q) {
      const like = `%${query.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      qb.andWhere("(LOWER(t.name) LIKE :q ESCAPE '\\' OR LOWER(t.id) LIKE :q ESCAPE '\\')", { q: like });
    }
    const rows = await qb.getMany();
    const page = rows.slice(0, query.limit);
    const installs = await tenantsStore.installationsOf(
      this.dataSource.manager,
      page.map((t) => t.id),
    );
    const items = page.map((t) => toView(t, installs.get(t.id) ?? []));
    return rows.length > query.limit
      ? { items, nextCursor: encodeCursor({ id: page[page.length - 1].id }) }
      : { items };
  }

  async get(id: string): Promise<TenantView> {
    const m = this.dataSource.manager;
    const t = await m.findOne(TenantEntity, { where: { id } });
    if (!t) throw notFound('TENANT.NOT_FOUND', `No tenant "${id}"`);
    const installs = await m.find(InstallationEntity, { where: { tenantId: id }, order: { appKey: 'ASC' } });
    return toView(t, installs);
  }

  /** Non-destructive edits only (name, attributes); status changes go through operations. */
  async update(
    actor: string,
    id: string,
    patch: { name?: string; attributes?: Record<string, unknown> },
  ): Promise<TenantView> {
    await this.tx.run(async (tx) => {
      const t = await tx.manager.findOne(TenantEntity, { where: { id } });
      if (!t) throw notFound('TENANT.NOT_FOUND', `No tenant "${id}"`);
      const changed: string[] = [];
      if (patch.name !== undefined && patch.name.trim() !== t.name) {
        t.name = patch.name.trim();
        changed.push('name');
      }
      if (patch.attributes !== undefined) {
        t.attributes = patch.attributes;
        changed.push('attributes');
      }
      if (changed.length === 0) return;
      t.updatedAt = tx.now;
      await tx.manager.update(
        TenantEntity,
        { id },
        { name: t.name, attributes: t.attributes as never, updatedAt: t.updatedAt },
      );
      tx.audit({ actor, action: 'tenant.updated', entityType: 'tenant', entityId: id, data: { changed } });
      tx.emit({ type: 'tenant.updated', entityType: 'tenant', entityId: id, actor, data: { changed } });
    });
    return this.get(id);
  }

  /** For other modules (engine, UI): tenants by id, in bulk. */
  async findMany(ids: readonly string[]): Promise<TenantEntity[]> {
    const out: TenantEntity[] = [];
    for (const c of chunks([...ids], ID_CHUNK))
      out.push(...(await this.dataSource.manager.find(TenantEntity, { where: { id: In(c) } })));
    return out;
  }
}
