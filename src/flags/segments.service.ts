import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { canonicalJson, sha256Hex } from '../common/canonical-json';
import { conflict, ErrorDetail, notFound } from '../common/errors';
import { TransactionRunner } from '../common/transaction';
import { validateConstraints } from './domain/flag-config.validator';
import { Constraint } from './domain/flag.model';
import { FlagEnvironmentEntity, SegmentEntity } from './flag.entity';
import { invalid } from './flag.errors';
import { SnapshotService } from './snapshot.service';

export interface SegmentInput {
  name: string;
  description?: string;
  constraints: unknown[];
}

// Segments are shared by every environment (as in Unleash): a change reaches every snapshot that uses them.
@Injectable()
export class SegmentsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tx: TransactionRunner,
    private readonly snapshots: SnapshotService,
  ) {}

  async list() {
    return this.dataSource.getRepository(SegmentEntity).find({ order: { id: 'ASC' } });
  }

  async get(id: number) {
    const row = await this.dataSource.getRepository(SegmentEntity).findOne({ where: { id } });
    if (!row) throw notFound('SEGMENT.NOT_FOUND', `No segment ${id}`);
    return row;
  }

  async create(actor: string, input: SegmentInput): Promise<SegmentEntity> {
    const constraints = this.check(input.constraints);
    const row = await this.tx.run(async (tx) => {
      if (await tx.manager.findOne(SegmentEntity, { where: { name: input.name } })) {
        throw conflict('SEGMENT.EXISTS', `A segment ${input.name} already exists`, [
          { field: 'name', reason: 'already exists' },
        ]);
      }
      const result = await tx.manager.insert(SegmentEntity, {
        name: input.name,
        description: input.description ?? null,
        constraints,
        version: 1,
        createdAt: tx.now,
        updatedAt: tx.now,
      });
      const id = Number((result.identifiers[0] as { id: number }).id);
      const data = { name: input.name, constraintsHash: sha256Hex(canonicalJson(constraints)) };
      tx.audit({ actor, action: 'segment.created', entityType: 'segment', entityId: String(id), data });
      tx.emit({
        type: 'segment.created',
        entityType: 'segment',
        entityId: String(id),
        actor,
        data: { name: input.name },
      });
      return tx.manager.findOneOrFail(SegmentEntity, { where: { id } });
    });
    return row;
  }

  async update(actor: string, id: number, input: SegmentInput): Promise<SegmentEntity> {
    const constraints = this.check(input.constraints);
    await this.tx.run(async (tx) => {
      const row = await tx.manager.findOne(SegmentEntity, { where: { id } });
      if (!row) throw notFound('SEGMENT.NOT_FOUND', `No segment ${id}`);
      const clash = await tx.manager.findOne(SegmentEntity, { where: { name: input.name } });
      if (clash && clash.id !== id) {
        throw conflict('SEGMENT.EXISTS', `A segment ${input.name} already exists`, [
          { field: 'name', reason: 'already exists' },
        ]);
      }
      await tx.manager.update(
        SegmentEntity,
        { id },
        {
          name: input.name,
          description: input.description ?? null,
          constraints,
          version: row.version + 1,
          updatedAt: tx.now,
        },
      );
      const data = { version: row.version + 1 };
      tx.audit({ actor, action: 'segment.updated', entityType: 'segment', entityId: String(id), data });
      tx.emit({ type: 'segment.updated', entityType: 'segment', entityId: String(id), actor, data });
    });
    await this.snapshots.refreshAll();
    return this.get(id);
  }

  async remove(actor: string, id: number): Promise<void> {
    await this.tx.run(async (tx) => {
      const row = await tx.manager.findOne(SegmentEntity, { where: { id } });
      if (!row) throw notFound('SEGMENT.NOT_FOUND', `No segment ${id}`);
      const users = (await tx.manager.find(FlagEnvironmentEntity)).filter((c) =>
        c.strategies.some((s) => s.segments.includes(id)),
      );
      if (users.length > 0) {
        const names = [...new Set(users.map((u) => `${u.flagKey} (${u.environment})`))];
        throw conflict('SEGMENT.IN_USE', `Segment ${id} is used by ${names.join(', ')}`);
      }
      await tx.manager.delete(SegmentEntity, { id });
      tx.audit({ actor, action: 'segment.deleted', entityType: 'segment', entityId: String(id), data: {} });
      tx.emit({ type: 'segment.deleted', entityType: 'segment', entityId: String(id), actor, data: {} });
    });
    await this.snapshots.refreshAll();
  }

  private check(raw: unknown[]): Constraint[] {
    const errors: ErrorDetail[] = [];
    const constraints = validateConstraints(raw, 'constraints', errors);
    if (errors.length > 0) throw invalid(errors);
    return constraints;
  }
}
