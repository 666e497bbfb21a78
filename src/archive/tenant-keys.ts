import { EntityManager, In } from 'typeorm';
import { deriveKey } from '../auth/token.codec';
import { newDataKey, open, seal } from '../snapshots/tenant-crypto';
import { TenantKeyEntity } from '../snapshots/snapshot.entity';

/**
 * The tenants' data keys for sealing archived images (the same per-tenant key that seals snapshots, so that purge,
 * which destroys it, shreds every archived copy too). Keys are looked up per use, never cached: a key destroyed by a
 * purge must not seal anything afterwards.
 */
export class TenantKeyring {
  private readonly kek: Buffer;

  constructor(secret: string) {
    this.kek = deriveKey(secret, 'tenant-keys');
  }

  /** A stored key, unwrapped; null when it was destroyed (purged). */
  unwrap(tenantId: string, wrappedKey: string | null): Buffer | null {
    return wrappedKey ? open(this.kek, wrappedKey, `tenant-key:${tenantId}`) : null;
  }

  /** The live keys of these tenants; a purged tenant (key destroyed) maps to null. Missing keys are created. */
  async keysFor(
    m: EntityManager,
    tenantIds: string[],
    now: Date,
    create: boolean,
  ): Promise<Map<string, Buffer | null>> {
    const out = new Map<string, Buffer | null>();
    const ids = [...new Set(tenantIds)];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      let rows = await m.find(TenantKeyEntity, { where: { tenantId: In(chunk) } });
      const missing = chunk.filter((id) => !rows.some((r) => r.tenantId === id));
      if (create && missing.length > 0) {
        await m
          .createQueryBuilder()
          .insert()
          .into(TenantKeyEntity)
          .values(
            missing.map((tenantId) => ({
              tenantId,
              wrappedKey: seal(this.kek, newDataKey(), `tenant-key:${tenantId}`),
              createdAt: now,
              destroyedAt: null,
            })),
          )
          .orIgnore()
          .execute();
        rows = await m.find(TenantKeyEntity, { where: { tenantId: In(chunk) } });
      }
      for (const r of rows)
        out.set(r.tenantId, r.wrappedKey ? open(this.kek, r.wrappedKey, `tenant-key:${r.tenantId}`) : null);
    }
    return out;
  }
}
