// A flag as the admin API and the UI read it: its fields, and its configuration in every environment (an
// environment it was never configured in shows the empty configuration at version 0).
import { DataSource, In } from 'typeorm';
import { EnvironmentEntity } from '../environments/environment.entity';
import { FeatureDependency, FlagEnvironmentConfig } from './domain/flag.model';
import { FlagEntity, FlagEnvironmentEntity } from './flag.entity';

export interface FlagEnvironmentView extends FlagEnvironmentConfig {
  environment: string;
  requiresChangeRequest: boolean;
  version: number;
  updatedAt: Date | null;
  updatedBy: string | null;
}

export interface FlagView {
  key: string;
  description: string | null;
  type: string;
  tags: string[];
  impressionData: boolean;
  dependencies: FeatureDependency[];
  archived: boolean;
  archivedAt: Date | null;
  version: number;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  environments: Record<string, FlagEnvironmentView>;
}

/** The views of `rows`, in their order, with three queries whatever their number. */
export async function flagViews(dataSource: DataSource, rows: FlagEntity[]): Promise<FlagView[]> {
  if (rows.length === 0) return [];
  const envs = await dataSource
    .getRepository(EnvironmentEntity)
    .find({ order: { sortOrder: 'ASC', name: 'ASC' } });
  const configs = await dataSource
    .getRepository(FlagEnvironmentEntity)
    .find({ where: { flagKey: In(rows.map((r) => r.key)) } });
  const byFlag = new Map<string, Map<string, FlagEnvironmentEntity>>();
  for (const c of configs) {
    if (!byFlag.has(c.flagKey)) byFlag.set(c.flagKey, new Map());
    byFlag.get(c.flagKey)?.set(c.environment, c);
  }
  return rows.map((f) => {
    const environments: Record<string, FlagEnvironmentView> = {};
    for (const e of envs) environments[e.name] = envView(e, byFlag.get(f.key)?.get(e.name));
    return {
      key: f.key,
      description: f.description,
      type: f.type,
      tags: f.tags,
      impressionData: f.impressionData,
      dependencies: f.dependencies,
      archived: f.archived,
      archivedAt: f.archivedAt,
      version: f.version,
      createdBy: f.createdBy,
      createdAt: f.createdAt,
      updatedAt: f.updatedAt,
      environments,
    };
  });
}

function envView(e: EnvironmentEntity, c: FlagEnvironmentEntity | undefined): FlagEnvironmentView {
  return {
    environment: e.name,
    requiresChangeRequest: e.requiresChangeRequest,
    enabled: c?.enabled ?? false,
    strategies: c?.strategies ?? [],
    variants: c?.variants ?? [],
    version: c?.version ?? 0,
    updatedAt: c?.updatedAt ?? null,
    updatedBy: c?.updatedBy ?? null,
  };
}
