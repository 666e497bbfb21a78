import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { conflict, notFound } from '../common/errors';
import { TransactionRunner } from '../common/transaction';
import { EnvironmentEntity } from './environment.entity';

export interface PublicEnvironment {
  name: string;
  requiresChangeRequest: boolean;
  sortOrder: number;
  createdAt: Date;
  updatedAt: Date;
}

const toPublic = (e: EnvironmentEntity): PublicEnvironment => ({
  name: e.name,
  requiresChangeRequest: e.requiresChangeRequest,
  sortOrder: e.sortOrder,
  createdAt: e.createdAt,
  updatedAt: e.updatedAt,
});

@Injectable()
export class EnvironmentsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tx: TransactionRunner,
  ) {}

  async list(): Promise<PublicEnvironment[]> {
    const rows = await this.dataSource
      .getRepository(EnvironmentEntity)
      .find({ order: { sortOrder: 'ASC', name: 'ASC' } });
    return rows.map(toPublic);
  }

  async names(): Promise<string[]> {
    return (await this.list()).map((e) => e.name);
  }

  async get(name: string): Promise<PublicEnvironment> {
    const row = await this.dataSource.getRepository(EnvironmentEntity).findOne({ where: { name } });
    if (!row) throw notFound('ENVIRONMENT.NOT_FOUND', `No environment ${name}`);
    return toPublic(row);
  }

  async create(
    actor: string,
    input: { name: string; requiresChangeRequest?: boolean; sortOrder?: number },
  ): Promise<PublicEnvironment> {
    return this.tx.run(async (tx) => {
      const existing = await tx.manager.findOne(EnvironmentEntity, { where: { name: input.name } });
      if (existing) throw conflict('ENVIRONMENT.EXISTS', `Environment ${input.name} already exists`);
      const max = await tx.manager
        .createQueryBuilder(EnvironmentEntity, 'e')
        .select('MAX(e.sort_order)', 'max')
        .getRawOne<{ max: number | null }>();
      const row = Object.assign(new EnvironmentEntity(), {
        name: input.name,
        requiresChangeRequest: input.requiresChangeRequest ?? false,
        sortOrder: input.sortOrder ?? Number(max?.max ?? 0) + 10,
        createdAt: tx.now,
        updatedAt: tx.now,
      });
      await tx.manager.insert(EnvironmentEntity, row);
      const data = { requiresChangeRequest: row.requiresChangeRequest };
      tx.audit({ actor, action: 'environment.created', entityType: 'environment', entityId: row.name, data });
      tx.emit({ type: 'environment.created', entityType: 'environment', entityId: row.name, actor, data });
      return toPublic(row);
    });
  }

  async update(
    actor: string,
    name: string,
    input: { requiresChangeRequest?: boolean; sortOrder?: number },
  ): Promise<PublicEnvironment> {
    return this.tx.run(async (tx) => {
      const row = await tx.manager.findOne(EnvironmentEntity, { where: { name } });
      if (!row) throw notFound('ENVIRONMENT.NOT_FOUND', `No environment ${name}`);
      const before = { requiresChangeRequest: row.requiresChangeRequest, sortOrder: row.sortOrder };
      if (input.requiresChangeRequest !== undefined) row.requiresChangeRequest = input.requiresChangeRequest;
      if (input.sortOrder !== undefined) row.sortOrder = input.sortOrder;
      row.updatedAt = tx.now;
      await tx.manager.update(
        EnvironmentEntity,
        { name },
        { requiresChangeRequest: row.requiresChangeRequest, sortOrder: row.sortOrder, updatedAt: tx.now },
      );
      const data = {
        before,
        after: { requiresChangeRequest: row.requiresChangeRequest, sortOrder: row.sortOrder },
      };
      tx.audit({ actor, action: 'environment.updated', entityType: 'environment', entityId: name, data });
      tx.emit({ type: 'environment.updated', entityType: 'environment', entityId: name, actor, data });
      return toPublic(row);
    });
  }
}
