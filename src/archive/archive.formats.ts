// The archive's file formats (docs/decisions/0014-continuous-archive.md): a segment's and a base's JSON, the reports
// verify writes, and the helpers that hash a file and seal and open a segment's changes and a base's tenants. No I/O.
import { createHash } from 'node:crypto';
import { open, seal } from '../snapshots/tenant-crypto';
import { RowChange } from './capture.store';
import { TenantImage } from './tenant-image';

/** A change as a segment stores it: metadata in clear (ids only), the images sealed under the tenant's key. */
export interface SegmentChange {
  p: number;
  tx: number | null;
  at: string;
  table: string;
  tenant: string;
  op: string;
  /** seal(tenant key, JSON {before, after}); null for a purge marker or a tenant whose key is already destroyed. */
  img: string | null;
}

export interface SegmentFile {
  format: 'wavegate-segment/1';
  after: number;
  to: number;
  changes: SegmentChange[];
}

export interface BaseFile {
  format: 'wavegate-base/1';
  position: number;
  takenAt: string;
  /** tenant id -> seal(tenant key, JSON TenantImage['tables']). */
  tenants: Record<string, string>;
  /** Tenants left out because their key is destroyed (purged): their history is erased. */
  purged: string[];
}

export interface FileReport {
  file: string;
  kind: 'base' | 'segment' | 'manifest';
  status: 'ok' | 'missing' | 'damaged' | 'repaired' | 'unrepairable';
  /** Data blocks (shardSize bytes each, from 0) whose checksum failed. */
  damagedBlocks: number[];
  damagedParityBlocks: number[];
  /** Blocks beyond what parity can rebuild (more than M damaged blocks in their stripe). */
  unrepairableBlocks: number[];
  shardSize: number;
  reason?: string;
}

export interface ArchiveReport {
  ok: boolean;
  checkedAt: string;
  files: FileReport[];
  /** Broken chain links, reordered entries and position gaps (a removed segment). */
  chain: Array<{ seq: number | null; file: string | null; reason: string }>;
}

export const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A captured change as a segment stores it: its images sealed under the tenant's key (none: erased). */
export function sealChange(c: RowChange, key: Buffer | null | undefined): SegmentChange {
  return {
    p: c.position,
    tx: c.txId,
    at: c.changedAt,
    table: c.table,
    tenant: c.tenantId,
    op: c.op,
    img: key
      ? seal(
          key,
          Buffer.from(JSON.stringify({ before: c.before, after: c.after })),
          `archive:${c.tenantId}:${c.position}`,
        )
      : null,
  };
}

/** A base of these tenants' tables at a position, each sealed under its key; a tenant without one is purged. */
export function sealBase(
  position: number,
  takenAt: string,
  byTenant: Map<string, TenantImage['tables']>,
  keys: Map<string, Buffer | null>,
): BaseFile {
  const tenants: Record<string, string> = {};
  const purged: string[] = [];
  for (const id of byTenant.keys()) {
    const key = keys.get(id);
    if (!key) {
      purged.push(id);
      continue;
    }
    tenants[id] = seal(key, Buffer.from(JSON.stringify(byTenant.get(id))), `archive-base:${id}:${position}`);
  }
  return { format: 'wavegate-base/1', position, takenAt, tenants, purged };
}

/** Decrypts one segment change's images; null when they are erased. */
export function openChange(c: SegmentChange, key: Buffer | null | undefined): RowChange {
  let img: { before: Record<string, unknown> | null; after: Record<string, unknown> | null } = {
    before: null,
    after: null,
  };
  if (c.img && key)
    img = JSON.parse(open(key, c.img, `archive:${c.tenant}:${c.p}`).toString('utf8')) as typeof img;
  return {
    position: c.p,
    txId: c.tx,
    changedAt: c.at,
    table: c.table,
    tenantId: c.tenant,
    op: c.op as RowChange['op'],
    ...img,
  };
}

export function openBase(b: BaseFile, tenantId: string, key: Buffer): TenantImage['tables'] | undefined {
  const sealed = b.tenants[tenantId];
  if (!sealed) return undefined;
  return JSON.parse(
    open(key, sealed, `archive-base:${tenantId}:${b.position}`).toString('utf8'),
  ) as TenantImage['tables'];
}
