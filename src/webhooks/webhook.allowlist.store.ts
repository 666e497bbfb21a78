import { EntityManager } from 'typeorm';
import { Allowlist, DEFAULT_ALLOWLIST } from './domain/destination.policy';
import { WebhookSettingEntity } from './webhook.entity';

const KEY = 'allowlist';

/** The admin-managed allowlist, one row in `webhook_settings`; the default when never set. */
export async function loadAllowlist(manager: EntityManager): Promise<Allowlist> {
  const row = await manager.findOne(WebhookSettingEntity, { where: { name: KEY } });
  if (!row) return { ...DEFAULT_ALLOWLIST };
  const v = row.value as Partial<Allowlist>;
  return {
    hosts: Array.isArray(v.hosts) ? v.hosts : [],
    networks: Array.isArray(v.networks) ? v.networks : [],
    allowPublic: v.allowPublic !== false,
  };
}

export async function saveAllowlist(
  manager: EntityManager,
  allowlist: Allowlist,
  actor: string,
  now: Date,
): Promise<void> {
  await manager.upsert(
    WebhookSettingEntity,
    { name: KEY, value: { ...allowlist }, updatedBy: actor, updatedAt: now },
    ['name'],
  );
}
