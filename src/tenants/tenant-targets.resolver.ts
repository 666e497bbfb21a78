import { EntityManager } from 'typeorm';
import { ResolvedTarget, TargetResolver, TargetSelector } from '../operations/operation.types';
import { InstallationEntity, TenantEntity } from './tenant.entity';
import { tenantsStore } from './tenants.store';

// Typed targets from the inventory, looked up in bulk (chunked IN queries; never one query per target).
// Unknown ids get a reason that names the likely mistake: a tenant id given where an installation id was expected
// is exactly the outage in DESIGN.md.

const tenantFacts = (t: TenantEntity) => ({
  status: t.status,
  softDeletedAt: t.softDeletedAt,
  purgeAfter: t.purgeAfter,
});

function tenantTarget(t: TenantEntity, installs: InstallationEntity[] | undefined): ResolvedTarget {
  return {
    type: 'tenant',
    id: t.id,
    tenantId: t.id,
    name: t.name,
    tier: t.tier,
    region: t.region,
    state: t.status,
    apps: (installs ?? []).map((i) => i.appKey),
    tenant: tenantFacts(t),
  };
}

function installationTarget(
  t: TenantEntity,
  i: InstallationEntity,
  appNames: Map<string, string>,
): ResolvedTarget {
  return {
    type: 'installation',
    id: `${t.id}/${i.appKey}`,
    tenantId: t.id,
    name: `${t.name} / ${appNames.get(i.appKey) ?? i.appKey}`,
    tier: t.tier,
    region: t.region,
    state: i.status,
    appKey: i.appKey,
    tenant: tenantFacts(t),
  };
}

function matchesSelector(t: TenantEntity, s: TargetSelector): boolean {
  if (s.tier && t.tier !== s.tier) return false;
  if (s.region && t.region !== s.region) return false;
  if (s.attributes) {
    for (const [k, v] of Object.entries(s.attributes)) if (t.attributes[k] !== v) return false;
  }
  return true;
}

async function tenantsForSelector(m: EntityManager, s: TargetSelector): Promise<TenantEntity[]> {
  const qb = m.createQueryBuilder(TenantEntity, 't').orderBy('t.id', 'ASC');
  if (s.tier) qb.andWhere('t.tier = :tier', { tier: s.tier });
  if (s.region) qb.andWhere('t.region = :region', { region: s.region });
  if (s.appKey) {
    qb.andWhere('EXISTS (SELECT 1 FROM installations i WHERE i.tenant_id = t.id AND i.app_key = :app)', {
      app: s.appKey,
    });
  }
  // Attributes are JSON text: matched here rather than with dialect-specific JSON operators.
  return (await qb.getMany()).filter((t) => matchesSelector(t, s));
}

export const tenantResolver: TargetResolver = {
  type: 'tenant',

  async resolveIds(m, ids) {
    const tenants = await tenantsStore.tenantsByIds(m, ids);
    const installs = await tenantsStore.installationsOf(m, [...tenants.keys()]);
    const out = new Map<string, ResolvedTarget>();
    for (const t of tenants.values()) out.set(t.id, tenantTarget(t, installs.get(t.id)));
    return out;
  },

  async resolveSelector(m, s) {
    const tenants = await tenantsForSelector(m, s);
    const installs = await tenantsStore.installationsOf(
      m,
      tenants.map((t) => t.id),
    );
    return tenants.map((t) => tenantTarget(t, installs.get(t.id)));
  },

  async explainUnknown(m, ids) {
    const out = new Map<string, string>();
    const asInstallation = ids.filter((id) => id.includes('/'));
    const installs = await tenantsStore.installationsOf(
      m,
      asInstallation.map((id) => id.split('/')[0]),
    );
    for (const id of ids) {
      const [tenantId, appKey] = id.split('/');
      if (appKey !== undefined && installs.get(tenantId)?.some((i) => i.appKey === appKey)) {
        out.set(id, `${id} is an installation id, not a tenant id`);
      } else {
        out.set(id, `no tenant "${id}" in the inventory`);
      }
    }
    return out;
  },

  async countActiveTenants(m) {
    return m.count(TenantEntity, { where: { status: 'active' } });
  },
};

const splitInstallationId = (id: string): { tenantId: string; appKey: string } | null => {
  const parts = id.split('/');
  return parts.length === 2 && parts[0] && parts[1] ? { tenantId: parts[0], appKey: parts[1] } : null;
};

export const installationResolver: TargetResolver = {
  type: 'installation',

  async resolveIds(m, ids) {
    const wanted = ids
      .map(splitInstallationId)
      .filter((x): x is { tenantId: string; appKey: string } => x !== null);
    const tenants = await tenantsStore.tenantsByIds(
      m,
      wanted.map((w) => w.tenantId),
    );
    const installs = await tenantsStore.installationsOf(m, [...tenants.keys()]);
    const appNames = await tenantsStore.appNames(m);
    const out = new Map<string, ResolvedTarget>();
    for (const w of wanted) {
      const t = tenants.get(w.tenantId);
      const i = installs.get(w.tenantId)?.find((x) => x.appKey === w.appKey);
      if (t && i) out.set(`${w.tenantId}/${w.appKey}`, installationTarget(t, i, appNames));
    }
    return out;
  },

  async resolveSelector(m, s) {
    const tenants = await tenantsForSelector(m, s);
    const installs = await tenantsStore.installationsOf(
      m,
      tenants.map((t) => t.id),
    );
    const appNames = await tenantsStore.appNames(m);
    const out: ResolvedTarget[] = [];
    for (const t of tenants) {
      for (const i of installs.get(t.id) ?? []) {
        if (!s.appKey || i.appKey === s.appKey) out.push(installationTarget(t, i, appNames));
      }
    }
    return out;
  },

  async explainUnknown(m, ids) {
    const out = new Map<string, string>();
    const tenantIds = ids.map((id) => splitInstallationId(id)?.tenantId ?? id);
    const tenants = await tenantsStore.existingTenantIds(m, tenantIds);
    const apps = await tenantsStore.appKeys(m);
    for (const id of ids) {
      const parts = splitInstallationId(id);
      if (!parts) {
        out.set(
          id,
          tenants.has(id)
            ? `"${id}" is a tenant id, not an installation id; an installation id is <tenantId>/<appKey>`
            : `not an installation id: expected <tenantId>/<appKey>`,
        );
      } else if (!tenants.has(parts.tenantId)) {
        out.set(id, `no tenant "${parts.tenantId}" in the inventory`);
      } else if (!apps.has(parts.appKey)) {
        out.set(id, `no app "${parts.appKey}" in the catalogue`);
      } else {
        out.set(id, `tenant "${parts.tenantId}" has no installation of "${parts.appKey}"`);
      }
    }
    return out;
  },
};
