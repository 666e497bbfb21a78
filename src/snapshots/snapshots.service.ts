import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { EntityManager, In, Not } from 'typeorm';
import { deriveKey } from '../auth/token.codec';
import { canonicalJson, sha256Hex } from '../common/canonical-json';
import { conflict, notFound } from '../common/errors';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { ConnectorCaptureEntity } from './connector-capture.entity';
import { InstallationEntity, TenantEntity } from '../tenants/tenant.entity';
import { TenantKeyEntity, TenantSnapshotEntity } from './snapshot.entity';
import { newDataKey, open, seal } from './tenant-crypto';

/** The tenant's rows as a snapshot holds them (dates as ISO strings). */
export interface TenantRows {
  tenant: Record<string, unknown>;
  installations: Record<string, unknown>[];
}

/** The reason of a snapshot taken before a point-in-time restore (raw tables, not entity rows). */
export const TABLES_SNAPSHOT_REASON = 'tenant.restore:before';

export const SNAPSHOT_ERRORS = {
  CORRUPT: 'SNAPSHOT.CORRUPT',
  KEY_DESTROYED: 'SNAPSHOT.KEY_DESTROYED',
  NOT_FOUND: 'SNAPSHOT.NOT_FOUND',
} as const;

/**
 * Per-tenant snapshots: before a destructive step the tenant's rows (tenant, installations with their data) are
 * captured as canonical JSON, hashed (SHA-256) and sealed with the tenant's data key. Everything runs on the
 * caller's `EntityManager`, inside the target's transaction.
 */
@Injectable()
export class SnapshotsService {
  private readonly kek: Buffer;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.kek = deriveKey(config.secret, 'tenant-keys');
  }

  async capture(
    m: EntityManager,
    tenantId: string,
    reason: string,
    changeRequestId: string | null,
    now: Date,
  ): Promise<TenantSnapshotEntity> {
    const rows = await this.readRows(m, tenantId);
    const json = canonicalJson(rows);
    const key = await this.dataKey(m, tenantId, now);
    const snap = Object.assign(new TenantSnapshotEntity(), {
      id: randomUUID(),
      tenantId,
      changeRequestId,
      reason,
      hash: sha256Hex(json),
      sealed: seal(key, Buffer.from(json, 'utf8'), `snapshot:${tenantId}`),
      createdAt: now,
    });
    await m.insert(TenantSnapshotEntity, snap);
    return snap;
  }

  /** Decrypts and verifies a snapshot; a wrong hash or a failed decryption refuses with a clear reason. */
  async read(
    m: EntityManager,
    snapshotId: string,
  ): Promise<{ snapshot: TenantSnapshotEntity; rows: TenantRows }> {
    const snapshot = await m.findOne(TenantSnapshotEntity, { where: { id: snapshotId } });
    if (!snapshot) throw notFound(SNAPSHOT_ERRORS.NOT_FOUND, `snapshot ${snapshotId} does not exist`);
    const keyRow = await m.findOne(TenantKeyEntity, { where: { tenantId: snapshot.tenantId } });
    if (!keyRow?.wrappedKey) {
      throw conflict(
        SNAPSHOT_ERRORS.KEY_DESTROYED,
        `snapshot ${snapshotId} of tenant ${snapshot.tenantId} cannot be decrypted: the tenant's data key was destroyed`,
      );
    }
    let json: string;
    try {
      const key = open(this.kek, keyRow.wrappedKey, `tenant-key:${snapshot.tenantId}`);
      json = open(key, snapshot.sealed, `snapshot:${snapshot.tenantId}`).toString('utf8');
    } catch {
      throw conflict(
        SNAPSHOT_ERRORS.CORRUPT,
        `snapshot ${snapshotId} of tenant ${snapshot.tenantId} is corrupted: it does not decrypt; refusing to restore from it`,
      );
    }
    if (sha256Hex(json) !== snapshot.hash) {
      throw conflict(
        SNAPSHOT_ERRORS.CORRUPT,
        `snapshot ${snapshotId} of tenant ${snapshot.tenantId} is corrupted: its SHA-256 does not match; refusing to restore from it`,
      );
    }
    return { snapshot, rows: JSON.parse(json) as TenantRows };
  }

  /** The latest snapshot of the tenant's entity rows (what the default `tenant.restore` restores from). */
  async latestFor(m: EntityManager, tenantId: string): Promise<TenantSnapshotEntity | null> {
    return m.findOne(TenantSnapshotEntity, {
      where: { tenantId, reason: Not(TABLES_SNAPSHOT_REASON) },
      order: { createdAt: 'DESC' },
    });
  }

  /**
   * Keeps the tenant's rows as raw tables (every column by its database name; a table may be empty, e.g. a tenant
   * whose rows were deleted outright), sealed like any snapshot: what a point-in-time restore writes back on undo.
   */
  async captureTables(
    m: EntityManager,
    tenantId: string,
    tables: Record<string, Record<string, unknown>[]>,
    changeRequestId: string | null,
    now: Date,
  ): Promise<TenantSnapshotEntity> {
    const json = canonicalJson({ format: 'tables', tenantId, tables });
    const key = await this.dataKey(m, tenantId, now);
    const snap = Object.assign(new TenantSnapshotEntity(), {
      id: randomUUID(),
      tenantId,
      changeRequestId,
      reason: TABLES_SNAPSHOT_REASON,
      hash: sha256Hex(json),
      sealed: seal(key, Buffer.from(json, 'utf8'), `snapshot:${tenantId}`),
      createdAt: now,
    });
    await m.insert(TenantSnapshotEntity, snap);
    return snap;
  }

  /** The tables snapshot a change request took of the tenant before restoring it (latest first), decrypted and verified. */
  async tablesTakenBy(
    m: EntityManager,
    tenantId: string,
    changeRequestId: string,
  ): Promise<{ snapshot: TenantSnapshotEntity; tables: Record<string, Record<string, unknown>[]> } | null> {
    const row = await m.findOne(TenantSnapshotEntity, {
      where: { tenantId, changeRequestId, reason: TABLES_SNAPSHOT_REASON },
      order: { createdAt: 'DESC' },
    });
    if (!row) return null;
    const { snapshot, rows } = await this.read(m, row.id);
    const doc = rows as unknown as { format?: string; tables?: Record<string, Record<string, unknown>[]> };
    if (doc.format !== 'tables' || !doc.tables) {
      throw conflict(
        SNAPSHOT_ERRORS.CORRUPT,
        `snapshot ${row.id} of tenant ${tenantId} is not a tables snapshot`,
      );
    }
    return { snapshot, tables: doc.tables };
  }

  /**
   * Seals `plaintext` with the tenant's data key (created on first use), bound to `aad`: what other per-tenant
   * captures (the platform's rows read by a data connector) use, so that purge shreds them with the snapshots.
   */
  async sealForTenant(
    m: EntityManager,
    tenantId: string,
    plaintext: string,
    aad: string,
    now: Date,
  ): Promise<string> {
    return seal(await this.dataKey(m, tenantId, now), Buffer.from(plaintext, 'utf8'), aad);
  }

  /** Opens what `sealForTenant` sealed; throws SNAPSHOT.KEY_DESTROYED after a purge, SNAPSHOT.CORRUPT if altered. */
  async openForTenant(
    m: EntityManager,
    tenantId: string,
    sealed: string,
    aad: string,
    what: string,
  ): Promise<string> {
    const keyRow = await m.findOne(TenantKeyEntity, { where: { tenantId } });
    if (!keyRow?.wrappedKey) {
      throw conflict(
        SNAPSHOT_ERRORS.KEY_DESTROYED,
        `${what} of tenant ${tenantId} cannot be decrypted: the tenant's data key was destroyed`,
      );
    }
    try {
      const key = open(this.kek, keyRow.wrappedKey, `tenant-key:${tenantId}`);
      return open(key, sealed, aad).toString('utf8');
    } catch {
      throw conflict(
        SNAPSHOT_ERRORS.CORRUPT,
        `${what} of tenant ${tenantId} is corrupted: it does not decrypt; refusing to restore from it`,
      );
    }
  }

  /**
   * Crypto-shredding: the wrapped key is erased and the sealed snapshots (and data-connector captures) deleted.
   * Returns how many snapshots.
   */
  async shred(m: EntityManager, tenantId: string, now: Date): Promise<number> {
    await m.update(TenantKeyEntity, { tenantId }, { wrappedKey: null, destroyedAt: now });
    await m.delete(ConnectorCaptureEntity, { tenantId });
    const snaps = await m.find(TenantSnapshotEntity, { where: { tenantId }, select: { id: true } });
    if (snaps.length > 0) await m.delete(TenantSnapshotEntity, { id: In(snaps.map((s) => s.id)) });
    return snaps.length;
  }

  async readRows(m: EntityManager, tenantId: string): Promise<TenantRows> {
    const tenant = await m.findOne(TenantEntity, { where: { id: tenantId } });
    if (!tenant) throw notFound('TENANT.NOT_FOUND', `tenant ${tenantId} does not exist`);
    const installations = await m.find(InstallationEntity, { where: { tenantId }, order: { appKey: 'ASC' } });
    return JSON.parse(
      canonicalJson({ tenant: { ...tenant }, installations: installations.map((i) => ({ ...i })) }),
    ) as TenantRows;
  }

  private async dataKey(m: EntityManager, tenantId: string, now: Date): Promise<Buffer> {
    const row = await m.findOne(TenantKeyEntity, { where: { tenantId } });
    if (row?.wrappedKey) return open(this.kek, row.wrappedKey, `tenant-key:${tenantId}`);
    if (row && !row.wrappedKey) {
      throw conflict(
        SNAPSHOT_ERRORS.KEY_DESTROYED,
        `tenant ${tenantId} was purged; its data key is destroyed`,
      );
    }
    const key = newDataKey();
    await m.insert(TenantKeyEntity, {
      tenantId,
      wrappedKey: seal(this.kek, key, `tenant-key:${tenantId}`),
      createdAt: now,
      destroyedAt: null,
    });
    return key;
  }
}
