// Inventory sync (ADR 0016): Wavegate's tenants and installations follow the platform. The provider's paged
// `inventory` endpoint is read OUTSIDE any transaction, then one transaction applies the diff: tenants and
// installations added or changed are written; tenants (and installations) the platform no longer lists are only
// MARKED (`provider_tenants.missing_since`, `missing_installations`), never deleted: removing a tenant is a
// dangerous change and goes through a change request. The diff goes into the audit log and an event.
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import { canonicalJson, sha256Hex } from '../common/canonical-json';
import { Clock } from '../common/clock';
import { badGateway, notFound, unprocessable } from '../common/errors';
import { TransactionRunner } from '../common/transaction';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { assertAllowed } from '../operations/http.apply';
import {
  AppEntity,
  InstallationEntity,
  TENANT_TIERS,
  TenantEntity,
  TenantTier,
} from '../tenants/tenant.entity';
import { chunks, ID_CHUNK } from '../tenants/tenants.store';
import { callProvider, platformMessage, ProviderUnreachable } from './provider.client';
import { ProviderEntity, ProviderTenantEntity } from './provider.entity';
import { ProvidersService } from './providers.service';

const MAX_PAGES = 10_000;
const MAX_LISTED = 1000;

export interface PlatformTenant {
  id: string;
  name: string;
  tier: TenantTier;
  region: string | null;
  status: string;
  installations: { appKey: string; status: string }[];
}

export interface InventoryDiff {
  provider: string;
  tenants: { added: string[]; changed: string[]; removed: string[]; reappeared: string[] };
  installations: { added: string[]; changed: string[]; removed: string[] };
  total: number;
  syncedAt: string;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const APP = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Reads one page item; null with a reason when it is unusable (the whole sync is then refused). */
function readItem(raw: unknown): PlatformTenant | string {
  if (raw === null || typeof raw !== 'object') return 'not an object';
  const r = raw as Record<string, unknown>;
  if (typeof r.id !== 'string' || !ID.test(r.id)) return 'id: must be 1-128 characters [A-Za-z0-9._:-]';
  const tier = (TENANT_TIERS as readonly unknown[]).includes(r.tier) ? (r.tier as TenantTier) : 'standard';
  const installations: PlatformTenant['installations'] = [];
  if (r.installations !== undefined && !Array.isArray(r.installations))
    return 'installations: must be a list';
  for (const i of (r.installations as unknown[] | undefined) ?? []) {
    const x = i as Record<string, unknown> | null;
    if (!x || typeof x.appKey !== 'string' || !APP.test(x.appKey))
      return 'installations[].appKey: must be 1-64 characters [a-z0-9_-]';
    installations.push({ appKey: x.appKey, status: typeof x.status === 'string' ? x.status : 'active' });
  }
  return {
    id: r.id,
    name: typeof r.name === 'string' && r.name ? r.name.slice(0, 200) : r.id,
    tier,
    region: typeof r.region === 'string' ? r.region.slice(0, 64) : null,
    status: typeof r.status === 'string' ? r.status.slice(0, 32) : 'active',
    installations,
  };
}

const installationStatus = (platform: string) => (platform === 'active' ? 'active' : 'deactivated');

@Injectable()
export class InventorySyncService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(InventorySyncService.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private readonly inFlight = new Map<string, Promise<InventoryDiff>>();

  constructor(
    private readonly tx: TransactionRunner,
    private readonly providers: ProvidersService,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const s = this.config.inventorySyncIntervalSeconds;
    if (s <= 0) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.syncAll('system')
        .catch((e: unknown) => this.logger.warn(`scheduled inventory sync failed: ${String(e)}`))
        .finally(() => (this.running = undefined));
    }, s * 1000);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Every provider with an inventory endpoint; one failing does not stop the others (its error is stored). */
  async syncAll(
    actor: string,
  ): Promise<{ results: InventoryDiff[]; errors: { provider: string; error: string }[] }> {
    const rows = await this.tx.read((m) => m.find(ProviderEntity, { order: { name: 'ASC' } }));
    const results: InventoryDiff[] = [];
    const errors: { provider: string; error: string }[] = [];
    for (const r of rows) {
      if (!r.definition.inventory) continue;
      try {
        results.push(await this.sync(r.name, actor));
      } catch (e) {
        errors.push({ provider: r.name, error: e instanceof Error ? e.message : String(e) });
      }
    }
    return { results, errors };
  }

  /** One provider; concurrent requests for the same provider share one sync. */
  sync(name: string, actor: string): Promise<InventoryDiff> {
    const running = this.inFlight.get(name);
    if (running) return running;
    const p = this.doSync(name, actor).finally(() => this.inFlight.delete(name));
    this.inFlight.set(name, p);
    return p;
  }

  private async doSync(name: string, actor: string): Promise<InventoryDiff> {
    const live = this.providers.current(name);
    if (!live) throw notFound('PROVIDER.NOT_FOUND', `No provider ${name}`);
    const inv = live.definition.inventory;
    if (!inv)
      throw unprocessable('INVENTORY.NO_ENDPOINT', `provider ${name} declares no inventory endpoint`, [
        { field: 'provider', reason: 'has no inventory endpoint' },
      ]);
    await this.tx.read((m) => assertAllowed(m, inv.url));
    let items: PlatformTenant[];
    try {
      items = await this.pull(live.secret, inv.url, inv.pageSize);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      await this.tx.run((tx) =>
        tx.manager.update(ProviderEntity, { name }, { inventoryError: message.slice(0, 2000) }),
      );
      throw badGateway('INVENTORY.SYNC_FAILED', `Inventory sync from ${name} failed: ${message}`);
    }
    const diff = await this.tx.run(async (tx) => {
      const d = await this.apply(tx.manager, name, items, tx.now);
      await tx.manager.update(ProviderEntity, { name }, { inventorySyncedAt: tx.now, inventoryError: null });
      const listed = {
        provider: name,
        total: items.length,
        tenants: {
          added: d.tenants.added.length,
          changed: d.tenants.changed.length,
          removed: d.tenants.removed.length,
          reappeared: d.tenants.reappeared.length,
        },
        installations: {
          added: d.installations.added.length,
          changed: d.installations.changed.length,
          removed: d.installations.removed.length,
        },
        diffHash: sha256Hex(canonicalJson(d)),
        // Ids only (no names): the audit log keeps ids and hashes.
        ids: {
          tenants: {
            added: d.tenants.added.slice(0, MAX_LISTED),
            changed: d.tenants.changed.slice(0, MAX_LISTED),
            removed: d.tenants.removed.slice(0, MAX_LISTED),
            reappeared: d.tenants.reappeared.slice(0, MAX_LISTED),
          },
          installations: {
            added: d.installations.added.slice(0, MAX_LISTED),
            changed: d.installations.changed.slice(0, MAX_LISTED),
            removed: d.installations.removed.slice(0, MAX_LISTED),
          },
        },
      };
      tx.audit({ actor, action: 'inventory.synced', entityType: 'provider', entityId: name, data: listed });
      tx.emit({ type: 'inventory.synced', entityType: 'provider', entityId: name, actor, data: listed });
      return { ...d, provider: name, total: items.length, syncedAt: tx.now.toISOString() };
    });
    this.providers.noteSynced(name, new Date(diff.syncedAt));
    return diff;
  }

  private async pull(secret: string, url: string, pageSize: number): Promise<PlatformTenant[]> {
    const out: PlatformTenant[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const a = await callProvider({
        url,
        body: { limit: pageSize, ...(cursor ? { cursor } : {}) },
        secret,
        now: () => this.clock.now(),
        settings: this.providers.settings,
      });
      if (a.status !== 200 || !Array.isArray(a.body.items))
        throw new ProviderUnreachable(`inventory ${url} answered ${platformMessage(a)}`);
      (a.body.items as unknown[]).forEach((raw, i) => {
        const item = readItem(raw);
        if (typeof item === 'string')
          throw new ProviderUnreachable(`inventory page ${page + 1}, item ${i}: ${item}`);
        if (seen.has(item.id)) throw new ProviderUnreachable(`inventory lists tenant ${item.id} twice`);
        seen.add(item.id);
        out.push(item);
      });
      const next = a.body.nextCursor;
      if (typeof next !== 'string' || next === '') return out;
      cursor = next;
    }
    throw new ProviderUnreachable(`inventory ${url} did not end after ${MAX_PAGES} pages`);
  }

  private async apply(
    m: EntityManager,
    provider: string,
    items: PlatformTenant[],
    now: Date,
  ): Promise<Omit<InventoryDiff, 'provider' | 'total' | 'syncedAt'>> {
    const ids = items.map((i) => i.id);
    const tenants = new Map<string, TenantEntity>();
    const installations = new Map<string, InstallationEntity>();
    for (const c of chunks(ids, ID_CHUNK)) {
      for (const t of await m.find(TenantEntity, { where: { id: In(c) } })) tenants.set(t.id, t);
      for (const i of await m.find(InstallationEntity, { where: { tenantId: In(c) } }))
        installations.set(`${i.tenantId}/${i.appKey}`, i);
    }
    const owned = new Map(
      (await m.find(ProviderTenantEntity, { where: { provider } })).map((r) => [r.tenantId, r]),
    );
    const apps = new Set((await m.find(AppEntity)).map((a) => a.key));
    const diff = {
      tenants: {
        added: [] as string[],
        changed: [] as string[],
        removed: [] as string[],
        reappeared: [] as string[],
      },
      installations: { added: [] as string[], changed: [] as string[], removed: [] as string[] },
    };
    const newTenants: TenantEntity[] = [];
    const newInstallations: InstallationEntity[] = [];
    const newApps: AppEntity[] = [];
    const ownership: ProviderTenantEntity[] = [];
    for (const item of items) {
      const current = tenants.get(item.id);
      const attributes = { ...(current?.attributes ?? {}), platformStatus: item.status };
      if (!current) {
        diff.tenants.added.push(item.id);
        newTenants.push(
          Object.assign(new TenantEntity(), {
            id: item.id,
            name: item.name,
            tier: item.tier,
            region: item.region,
            attributes,
            status: 'active',
            softDeletedAt: null,
            purgeAfter: null,
            createdAt: now,
            updatedAt: now,
          }),
        );
      } else if (
        current.name !== item.name ||
        current.tier !== item.tier ||
        current.region !== item.region ||
        current.attributes.platformStatus !== item.status
      ) {
        diff.tenants.changed.push(item.id);
        await m.update(
          TenantEntity,
          { id: item.id },
          { name: item.name, tier: item.tier, region: item.region, attributes, updatedAt: now },
        );
      }
      const listedApps = new Set<string>();
      for (const i of item.installations) {
        listedApps.add(i.appKey);
        const key = `${item.id}/${i.appKey}`;
        const status = installationStatus(i.status);
        if (!apps.has(i.appKey)) {
          apps.add(i.appKey);
          newApps.push(
            Object.assign(new AppEntity(), { key: i.appKey, name: i.appKey, legacy: false, createdAt: now }),
          );
        }
        const have = installations.get(key);
        if (!have) {
          diff.installations.added.push(key);
          newInstallations.push(
            Object.assign(new InstallationEntity(), {
              tenantId: item.id,
              appKey: i.appKey,
              status,
              data: {},
              deactivatedAt: status === 'deactivated' ? now : null,
              createdAt: now,
              updatedAt: now,
            }),
          );
        } else if (have.status !== status) {
          diff.installations.changed.push(key);
          await m.update(
            InstallationEntity,
            { tenantId: item.id, appKey: i.appKey },
            { status, deactivatedAt: status === 'deactivated' ? now : null, updatedAt: now },
          );
        }
      }
      const missingApps = [...installations.values()]
        .filter((i) => i.tenantId === item.id && !listedApps.has(i.appKey))
        .map((i) => i.appKey)
        .sort();
      const prev = owned.get(item.id);
      for (const a of missingApps)
        if (!prev?.missingInstallations.includes(a)) diff.installations.removed.push(`${item.id}/${a}`);
      if (prev?.missingSince) diff.tenants.reappeared.push(item.id);
      ownership.push(
        Object.assign(new ProviderTenantEntity(), {
          provider,
          tenantId: item.id,
          missingSince: null,
          missingInstallations: missingApps,
          lastSeenAt: now,
        }),
      );
    }
    for (const c of chunks(newApps, 200)) await m.insert(AppEntity, c);
    for (const c of chunks(newTenants, 200)) await m.insert(TenantEntity, c as never);
    for (const c of chunks(newInstallations, 400)) await m.insert(InstallationEntity, c as never);
    // Ownership rows: replaced for the listed tenants, marked for the ones the platform stopped listing.
    const listed = new Set(ids);
    for (const c of chunks(ids, ID_CHUNK))
      await m.delete(ProviderTenantEntity, { provider, tenantId: In(c) });
    for (const c of chunks(ownership, 200)) await m.insert(ProviderTenantEntity, c);
    for (const [tenantId, row] of owned) {
      if (listed.has(tenantId) || row.missingSince) continue;
      diff.tenants.removed.push(tenantId);
      await m.update(ProviderTenantEntity, { provider, tenantId }, { missingSince: now });
    }
    return diff;
  }

  /** Per provider: when its inventory was synced, how old that is, and the tenants it no longer lists. */
  async status(): Promise<Record<string, unknown>[]> {
    const now = this.clock.now();
    return this.tx.read(async (m) => {
      const rows = await m.find(ProviderEntity, { order: { name: 'ASC' } });
      const out = [];
      for (const r of rows) {
        if (!r.definition.inventory) continue;
        const owned = await m.find(ProviderTenantEntity, { where: { provider: r.name } });
        const missing = owned
          .filter((o) => o.missingSince)
          .map((o) => o.tenantId)
          .sort();
        out.push({
          provider: r.name,
          syncedAt: r.inventorySyncedAt?.toISOString() ?? null,
          ageSeconds: r.inventorySyncedAt
            ? Math.floor((now.getTime() - r.inventorySyncedAt.getTime()) / 1000)
            : null,
          maxAgeSeconds: this.config.inventoryMaxAgeSeconds,
          error: r.inventoryError,
          tenants: owned.length,
          missingInPlatform: missing.slice(0, MAX_LISTED),
          missingInPlatformCount: missing.length,
        });
      }
      return out;
    });
  }
}
