import { EntityManager, In } from 'typeorm';
import { AppEntity, InstallationEntity, TenantEntity } from './tenant.entity';

// Chunk sizes keep every statement under SQLite's bound-parameter limit (32766) and PostgreSQL's (65535).
export const ID_CHUNK = 500;
const TENANT_INSERT_CHUNK = 500;
const INSTALLATION_INSERT_CHUNK = 800;

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Reads and writes the inventory tables, through the caller's transaction manager only. */
export const tenantsStore = {
  async insertTenants(
    m: EntityManager,
    tenants: TenantEntity[],
    installations: InstallationEntity[],
  ): Promise<void> {
    for (const c of chunks(tenants, TENANT_INSERT_CHUNK)) await m.insert(TenantEntity, c as never);
    for (const c of chunks(installations, INSTALLATION_INSERT_CHUNK))
      await m.insert(InstallationEntity, c as never);
  },

  async existingTenantIds(m: EntityManager, ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const c of chunks(ids, ID_CHUNK)) {
      const rows = await m.find(TenantEntity, { select: { id: true }, where: { id: In(c) } });
      for (const r of rows) found.add(r.id);
    }
    return found;
  },

  async tenantsByIds(m: EntityManager, ids: readonly string[]): Promise<Map<string, TenantEntity>> {
    const out = new Map<string, TenantEntity>();
    for (const c of chunks([...new Set(ids)], ID_CHUNK)) {
      for (const t of await m.find(TenantEntity, { where: { id: In(c) } })) out.set(t.id, t);
    }
    return out;
  },

  /** Installations of the given tenants, grouped by tenant id (without their data payloads). */
  async installationsOf(
    m: EntityManager,
    tenantIds: readonly string[],
  ): Promise<Map<string, InstallationEntity[]>> {
    const out = new Map<string, InstallationEntity[]>();
    for (const c of chunks([...new Set(tenantIds)], ID_CHUNK)) {
      const rows = await m.find(InstallationEntity, {
        select: { tenantId: true, appKey: true, status: true, deactivatedAt: true },
        where: { tenantId: In(c) },
        order: { tenantId: 'ASC', appKey: 'ASC' },
      });
      for (const r of rows) {
        const list = out.get(r.tenantId);
        if (list) list.push(r);
        else out.set(r.tenantId, [r]);
      }
    }
    return out;
  },

  async appKeys(m: EntityManager): Promise<Set<string>> {
    return new Set((await m.find(AppEntity, { select: { key: true } })).map((a) => a.key));
  },

  async appNames(m: EntityManager): Promise<Map<string, string>> {
    return new Map((await m.find(AppEntity)).map((a) => [a.key, a.name]));
  },
};
