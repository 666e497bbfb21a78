// The tenant-scoped tables whose rows are captured (docs/decisions/0011-change-capture-triggers.md): tenant DATA,
// i.e. what a per-tenant point-in-time restore puts back. Wavegate's own operational rows that merely mention a
// tenant (rollout_targets, signals, flag_error_reports, webhook deliveries) are history of what Wavegate did, not
// the tenant's data, and are not captured: restoring them would rewrite that history.

export interface CapturedTable {
  name: string;
  /** The column holding the tenant id. */
  tenantColumn: string;
  /** Primary key columns (DB names), to replay an update or delete onto a rebuilt image. */
  primaryKey: string[];
  /**
   * Columns left out of the images. `tenant_snapshots.sealed` is already a sealed copy of the tenant's rows (its
   * metadata is enough to know a snapshot existed); `tenant_keys.wrapped_key` is key material: an archived copy of
   * it would survive the key's destruction at purge and defeat crypto-shredding.
   */
  excluded: string[];
}

export const CAPTURED_TABLES: readonly CapturedTable[] = [
  { name: 'tenants', tenantColumn: 'id', primaryKey: ['id'], excluded: [] },
  { name: 'installations', tenantColumn: 'tenant_id', primaryKey: ['tenant_id', 'app_key'], excluded: [] },
  { name: 'tenant_snapshots', tenantColumn: 'tenant_id', primaryKey: ['id'], excluded: ['sealed'] },
  { name: 'tenant_keys', tenantColumn: 'tenant_id', primaryKey: ['tenant_id'], excluded: ['wrapped_key'] },
  { name: 'erasure_receipts', tenantColumn: 'tenant_id', primaryKey: ['tenant_id'], excluded: [] },
];

export const capturedTable = (name: string): CapturedTable | undefined =>
  CAPTURED_TABLES.find((t) => t.name === name);

/** Change kinds: I(nsert), U(pdate), D(elete), and P(urge): the tenant's earlier images were erased at purge. */
export type ChangeOp = 'I' | 'U' | 'D' | 'P';
