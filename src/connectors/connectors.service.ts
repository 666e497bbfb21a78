import { randomUUID } from 'node:crypto';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { deriveKey } from '../auth/token.codec';
import { canonicalJson, sha256Hex } from '../common/canonical-json';
import { conflict, forbidden, notFound } from '../common/errors';
import { TransactionRunner } from '../common/transaction';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { CaptureRef } from '../operations/operation.types';
import { SnapshotsService } from '../snapshots/snapshots.service';
import { open, seal } from '../snapshots/tenant-crypto';
import { ConnectorCaptureEntity } from '../snapshots/connector-capture.entity';
import { DataConnectorEntity, DataConnectorProposalEntity } from './connector.entity';
import { DataConnectorSpec, DataConnectorView } from './data-connector.config';
import { PostgresConnector } from './postgres.connector';
import { rowCount, RowCounts, TenantCapture } from './tenant-rows';

export const CAPTURE_ERRORS = {
  NOT_FOUND: 'CONNECTOR.CAPTURE_NOT_FOUND',
  CORRUPT: 'CONNECTOR.CAPTURE_CORRUPT',
  NO_CONNECTOR: 'CONNECTOR.NOT_FOUND',
} as const;

export interface ProposalView extends DataConnectorView {
  name: string;
  proposalHash: string;
  proposedBy: string;
  proposedAt: string;
}

export interface ConnectorView extends DataConnectorView {
  name: string;
  version: number;
  proposedBy: string;
  approvedBy: string;
  updatedAt: string;
}

const captureAad = (tenantId: string, connector: string) => `connector-capture:${connector}:${tenantId}`;

/**
 * Data connectors to the platform's shared database (ADR 0012): their configuration (URL sealed under a key
 * derived from WAVEGATE_SECRET, never returned), the captures of one tenant's rows before a destructive operation
 * (sealed with the tenant's data key, so a purge shreds them), and restores of a capture into the live database.
 */
@Injectable()
export class ConnectorsService implements OnApplicationShutdown {
  private readonly urlKey: Buffer;
  private readonly open = new Map<string, { version: number; conn: PostgresConnector }>();

  constructor(
    private readonly tx: TransactionRunner,
    private readonly snapshots: SnapshotsService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.urlKey = deriveKey(config.secret, 'data-connector-url');
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.open.values()].map((c) => c.conn.close().catch(() => undefined)));
    this.open.clear();
  }

  /** Checks `spec` against the platform's database (422 naming the field); nothing is stored. */
  async validate(name: string, spec: DataConnectorSpec, field = 'dataConnector'): Promise<void> {
    const conn = new PostgresConnector(name, spec.url, spec.tables, { field });
    try {
      await conn.inspect();
    } finally {
      await conn.close();
    }
  }

  /**
   * Proposes a connector configuration (new or changed) after `validate`: it takes effect only when another person
   * approves its proposal hash (`approve`). A newer proposal replaces a pending one.
   */
  async propose(
    m: EntityManager,
    name: string,
    spec: DataConnectorSpec,
    by: string,
    now: Date,
  ): Promise<ProposalView> {
    const view: DataConnectorView = { kind: spec.kind, tables: spec.tables, urlHash: sha256Hex(spec.url) };
    const proposalHash = sha256Hex(canonicalJson({ name, ...view }));
    await m.save(DataConnectorProposalEntity, {
      name,
      specSealed: seal(this.urlKey, Buffer.from(canonicalJson(spec), 'utf8'), `connector-proposal:${name}`),
      proposalHash,
      proposedBy: by,
      proposedAt: now,
    });
    return { name, ...view, proposalHash, proposedBy: by, proposedAt: now.toISOString() };
  }

  async proposal(m: EntityManager, name: string): Promise<ProposalView | null> {
    const p = await m.findOne(DataConnectorProposalEntity, { where: { name } });
    if (!p) return null;
    const spec = this.openProposal(p);
    return {
      name,
      kind: spec.kind,
      tables: spec.tables,
      urlHash: sha256Hex(spec.url),
      proposalHash: p.proposalHash,
      proposedBy: p.proposedBy,
      proposedAt: p.proposedAt.toISOString(),
    };
  }

  /**
   * Applies the pending proposal: the approver names its hash (409 when it changed meanwhile) and is not the one
   * who proposed it (403). The connector's version goes up; the proposal is gone.
   */
  async approve(
    m: EntityManager,
    name: string,
    proposalHash: string,
    by: string,
    now: Date,
  ): Promise<ConnectorView> {
    const p = await m.findOne(DataConnectorProposalEntity, { where: { name } });
    if (!p) throw notFound('CONNECTOR.NO_PROPOSAL', `no pending proposal for data connector ${name}`);
    if (p.proposalHash !== proposalHash) {
      throw conflict(
        'CONNECTOR.STALE_PROPOSAL',
        `proposalHash: the pending proposal of ${name} is ${p.proposalHash}, not ${proposalHash}`,
        [{ field: 'proposalHash', reason: `does not match the pending proposal (${p.proposalHash})` }],
      );
    }
    if (p.proposedBy === by) {
      throw forbidden(
        'CONNECTOR.SELF_APPROVAL',
        'a connector change must be approved by someone other than its proposer',
      );
    }
    const spec = this.openProposal(p);
    const existing = await m.findOne(DataConnectorEntity, { where: { name } });
    const row: DataConnectorEntity = Object.assign(new DataConnectorEntity(), {
      name,
      kind: spec.kind,
      urlSealed: seal(this.urlKey, Buffer.from(spec.url, 'utf8'), `connector-url:${name}`),
      urlHash: sha256Hex(spec.url),
      tables: spec.tables,
      version: (existing?.version ?? 0) + 1,
      proposedBy: p.proposedBy,
      approvedBy: by,
      updatedAt: now,
    });
    await m.save(DataConnectorEntity, row);
    await m.delete(DataConnectorProposalEntity, { name });
    return this.view(row);
  }

  private openProposal(p: DataConnectorProposalEntity): DataConnectorSpec {
    return JSON.parse(
      open(this.urlKey, p.specSealed, `connector-proposal:${p.name}`).toString('utf8'),
    ) as DataConnectorSpec;
  }

  view(r: DataConnectorEntity): ConnectorView {
    return {
      name: r.name,
      kind: r.kind,
      tables: r.tables,
      urlHash: r.urlHash,
      version: r.version,
      proposedBy: r.proposedBy,
      approvedBy: r.approvedBy,
      updatedAt: r.updatedAt.toISOString(),
    };
  }

  async list(m: EntityManager): Promise<(DataConnectorView & { name: string; version: number })[]> {
    const rows = await m.find(DataConnectorEntity, { order: { name: 'ASC' } });
    return rows.map((r) => ({
      name: r.name,
      kind: r.kind,
      tables: r.tables,
      urlHash: r.urlHash,
      version: r.version,
    }));
  }

  /** The current version of connector `name` (it goes up with each approved change), or null when there is none. */
  async version(m: EntityManager, name: string): Promise<number | null> {
    const row = await m.findOne(DataConnectorEntity, {
      where: { name },
      select: { name: true, version: true },
    });
    return row?.version ?? null;
  }

  /** The live connector for `name`, opened once per version. */
  async connector(m: EntityManager, name: string): Promise<PostgresConnector> {
    const row = await m.findOne(DataConnectorEntity, { where: { name } });
    if (!row) throw notFound(CAPTURE_ERRORS.NO_CONNECTOR, `no data connector named ${name}`);
    const cached = this.open.get(name);
    if (cached && cached.version === row.version) return cached.conn;
    if (cached) await cached.conn.close().catch(() => undefined);
    const url = open(this.urlKey, row.urlSealed, `connector-url:${name}`).toString('utf8');
    const conn = new PostgresConnector(name, url, row.tables);
    this.open.set(name, { version: row.version, conn });
    return conn;
  }

  /**
   * Reads the tenant's rows through the connector (one consistent snapshot of the platform's database, outside any
   * Wavegate transaction) and stores them sealed. Call BEFORE the destructive call; its id and hash go with the
   * target's result and audit entry.
   */
  async capture(
    connectorName: string,
    tenantId: string,
    reason: string,
    changeRequestId: string | null,
  ): Promise<CaptureRef> {
    const conn = await this.tx.run((t) => this.connector(t.manager, connectorName));
    const capture = await conn.capture(tenantId);
    return this.tx.run((t) => this.store(t.manager, capture, reason, changeRequestId, t.now));
  }

  async store(
    m: EntityManager,
    capture: TenantCapture,
    reason: string,
    changeRequestId: string | null,
    now: Date,
  ): Promise<CaptureRef> {
    const json = canonicalJson(capture);
    const row = Object.assign(new ConnectorCaptureEntity(), {
      id: randomUUID(),
      connector: capture.connector,
      tenantId: capture.tenantId,
      changeRequestId,
      reason: reason.slice(0, 200),
      hash: sha256Hex(json),
      sealed: await this.snapshots.sealForTenant(
        m,
        capture.tenantId,
        json,
        captureAad(capture.tenantId, capture.connector),
        now,
      ),
      rowCount: rowCount(capture),
      createdAt: now,
    });
    await m.insert(ConnectorCaptureEntity, row);
    return { captureId: row.id, captureHash: row.hash, connector: row.connector, rowCount: row.rowCount };
  }

  /** The newest capture of the tenant through `connector` (optionally not of one reason), or null. */
  async latest(
    m: EntityManager,
    connector: string,
    tenantId: string,
    opts: { excludeReason?: string } = {},
  ): Promise<ConnectorCaptureEntity | null> {
    const qb = m
      .createQueryBuilder(ConnectorCaptureEntity, 'c')
      .where('c.connector = :connector AND c.tenant_id = :tenantId', { connector, tenantId });
    if (opts.excludeReason) qb.andWhere('c.reason <> :r', { r: opts.excludeReason });
    return qb.orderBy('c.created_at', 'DESC').addOrderBy('c.id', 'ASC').getOne();
  }

  /** The capture a change request took of the tenant for `reason`, or null. */
  async byChangeRequest(
    m: EntityManager,
    connector: string,
    tenantId: string,
    changeRequestId: string,
    reason: string,
  ): Promise<ConnectorCaptureEntity | null> {
    return m.findOne(ConnectorCaptureEntity, { where: { connector, tenantId, changeRequestId, reason } });
  }

  /**
   * `capture`, once per change request, tenant and reason: a target run again after a crash (its destructive call
   * may already have happened) keeps the capture of the first run instead of capturing what is left.
   */
  async captureOnce(
    connector: string,
    tenantId: string,
    reason: string,
    changeRequestId: string,
  ): Promise<CaptureRef> {
    const existing = await this.tx.run((t) =>
      this.byChangeRequest(t.manager, connector, tenantId, changeRequestId, reason),
    );
    if (existing) {
      return { connector, captureId: existing.id, captureHash: existing.hash, rowCount: existing.rowCount };
    }
    return this.capture(connector, tenantId, reason, changeRequestId);
  }

  /** Decrypts a capture and verifies its SHA-256; refuses (409) before anything could be written. */
  async read(
    m: EntityManager,
    captureId: string,
  ): Promise<{ row: ConnectorCaptureEntity; capture: TenantCapture }> {
    const row = await m.findOne(ConnectorCaptureEntity, { where: { id: captureId } });
    if (!row) throw notFound(CAPTURE_ERRORS.NOT_FOUND, `capture ${captureId} does not exist`);
    const json = await this.snapshots.openForTenant(
      m,
      row.tenantId,
      row.sealed,
      captureAad(row.tenantId, row.connector),
      `capture ${captureId}`,
    );
    if (sha256Hex(json) !== row.hash) {
      throw conflict(
        CAPTURE_ERRORS.CORRUPT,
        `capture ${captureId} of tenant ${row.tenantId} does not verify: its SHA-256 is not ${row.hash}; nothing was written`,
      );
    }
    const capture = JSON.parse(json) as TenantCapture;
    if (capture.tenantId !== row.tenantId || capture.connector !== row.connector) {
      throw conflict(
        CAPTURE_ERRORS.CORRUPT,
        `capture ${captureId} is not of tenant ${row.tenantId}; nothing was written`,
      );
    }
    return { row, capture };
  }

  /** Rows a restore of the capture would write, overwrite and remove now (read-only). */
  async preview(
    m: EntityManager,
    captureId: string,
  ): Promise<{ capture: ConnectorCaptureEntity; counts: RowCounts }> {
    const { row, capture } = await this.read(m, captureId);
    const conn = await this.connector(m, row.connector);
    return { capture: row, counts: (await conn.preview(capture)).counts };
  }

  /** Verifies the capture, then writes it back into the live database in one transaction of the platform's. */
  async restore(
    m: EntityManager,
    captureId: string,
  ): Promise<{ capture: ConnectorCaptureEntity; counts: RowCounts }> {
    const { row, capture } = await this.read(m, captureId);
    const conn = await this.connector(m, row.connector);
    return { capture: row, counts: (await conn.restore(capture)).counts };
  }
}
