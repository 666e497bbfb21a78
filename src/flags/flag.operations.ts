import { EntityManager, In } from 'typeorm';
import { conflict, ErrorDetail, unprocessable } from '../common/errors';
import { Operation, PlannedTarget, ResolvedTarget, TargetResolver } from '../operations/operation.types';
import { validateFlagEnvironment } from './domain/flag-config.validator';
import { FLAG_KEY_RE, FlagEnvironmentConfig } from './domain/flag.model';
import { configHash } from './domain/snapshot.builder';
import { FlagEntity, FlagEnvironmentEntity } from './flag.entity';
import { EMPTY_CONFIG, FlagEnvironmentChange } from './flag-environment.changes';
import { FlagsService } from './flags.service';

// `flag.update`: changes one flag in one environment through a change request. The target is
// `flag:<environment>/<flagKey>`; the params carry the whole before/after configuration, so the plan (and its
// hash) shows the diff the checker approves. Applying refuses (drift) when the flag changed after the plan.

export interface FlagUpdateParams {
  environment: string;
  flag: string;
  beforeVersion: number;
  before: FlagEnvironmentConfig;
  after: FlagEnvironmentConfig;
}

export const flagTargetId = (environment: string, flag: string) => `${environment}/${flag}`;

function splitTarget(id: string): { environment: string; flag: string } | null {
  const i = id.indexOf('/');
  if (i <= 0) return null;
  return { environment: id.slice(0, i), flag: id.slice(i + 1) };
}

// Segment ids are checked against the database when the change is proposed and again when it is applied.
const ANY_SEGMENT = { has: () => true } as unknown as ReadonlySet<number>;

function parseConfig(raw: unknown, field: string, errors: ErrorDetail[]): FlagEnvironmentConfig {
  const r = validateFlagEnvironment(raw, EMPTY_CONFIG, {
    flagKey: 'x',
    segmentIds: ANY_SEGMENT,
    newId: () => 'missing-id',
  });
  if (!r.ok) {
    errors.push(...r.errors.map((e) => ({ ...e, field: `params.${field}.${e.field}` })));
    return EMPTY_CONFIG;
  }
  return r.value;
}

const state = (row: FlagEnvironmentEntity | undefined, archived: boolean) =>
  archived ? 'archived' : `${row?.enabled ? 'enabled' : 'disabled'} v${row?.version ?? 0}`;

/** A short, human reading of what changes, for the plan's action. */
export function describeChange(before: FlagEnvironmentConfig, after: FlagEnvironmentConfig): string {
  const parts: string[] = [];
  if (before.enabled !== after.enabled) parts.push(after.enabled ? 'enable' : 'disable');
  if (JSON.stringify(before.strategies) !== JSON.stringify(after.strategies)) {
    parts.push(`strategies ${before.strategies.length} -> ${after.strategies.length}`);
  }
  if (JSON.stringify(before.variants) !== JSON.stringify(after.variants)) {
    parts.push(`variants ${before.variants.length} -> ${after.variants.length}`);
  }
  return parts.length > 0 ? `update: ${parts.join(', ')}` : 'update: no change';
}

export function flagUpdateOperation(flags: FlagsService): Operation<FlagUpdateParams> {
  return {
    name: 'flag.update',
    version: 1,
    targetType: 'flag',
    risk: 'reversible',
    mode: 'update',
    summary:
      "Replaces the flag's configuration in one environment with the one shown (before/after in params).",
    parseParams(params) {
      const errors: ErrorDetail[] = [];
      const { environment, flag, beforeVersion, before, after, ...rest } = params;
      for (const k of Object.keys(rest)) errors.push({ field: `params.${k}`, reason: 'unknown field' });
      if (typeof environment !== 'string' || environment.length === 0) {
        errors.push({ field: 'params.environment', reason: 'required: an environment name' });
      }
      if (typeof flag !== 'string' || !FLAG_KEY_RE.test(flag))
        errors.push({ field: 'params.flag', reason: 'required: a flag key' });
      if (typeof beforeVersion !== 'number' || !Number.isInteger(beforeVersion) || beforeVersion < 0) {
        errors.push({
          field: 'params.beforeVersion',
          reason: 'required: the version the change was planned against',
        });
      }
      const b = parseConfig(before, 'before', errors);
      const a = parseConfig(after, 'after', errors);
      if (errors.length > 0) throw unprocessable('CHANGE_REQUEST.INVALID_PARAMS', errors[0].reason, errors);
      return {
        environment: environment as string,
        flag: flag as string,
        beforeVersion: beforeVersion as number,
        before: b,
        after: a,
      };
    },
    checkEligible(t, { params }) {
      if (t.id !== flagTargetId(params.environment, params.flag)) {
        return `params name ${flagTargetId(params.environment, params.flag)}, the target is ${t.id}`;
      }
      if (t.state === 'archived') return 'archived';
      if (t.state !== `${params.before.enabled ? 'enabled' : 'disabled'} v${params.beforeVersion}`) {
        return `changed since this change was proposed (now ${t.state}, proposed against v${params.beforeVersion})`;
      }
      return null;
    },
    describe: (_t, { params }) => ({
      action: describeChange(params.before, params.after),
      to: `${params.after.enabled ? 'enabled' : 'disabled'} v${params.beforeVersion + 1}`,
    }),
    signalFlags: (params) => [{ flag: params.flag, environment: params.environment }],
    async apply(_target: PlannedTarget, ctx) {
      const p = ctx.params;
      const change: FlagEnvironmentChange = {
        flag: p.flag,
        environment: p.environment,
        beforeVersion: p.beforeVersion,
        before: p.before,
        after: p.after,
        beforeHash: configHash(p.before),
        afterHash: configHash(p.after),
      };
      await flags.applyChange(ctx.tx, 'system', change, { changeRequestId: ctx.changeRequestId });
      ctx.tx.afterCommit(() => void flags.refreshSnapshot(p.environment));
    },
  };
}

export const flagTargetResolver: TargetResolver = {
  type: 'flag',
  async resolveIds(m: EntityManager, ids: readonly string[]) {
    const out = new Map<string, ResolvedTarget>();
    const parsed = ids.map((id) => ({ id, ref: splitTarget(id) })).filter((x) => x.ref !== null);
    const keys = [...new Set(parsed.map((p) => p.ref?.flag as string))];
    if (keys.length === 0) return out;
    const flags = new Map((await m.find(FlagEntity, { where: { key: In(keys) } })).map((f) => [f.key, f]));
    const configs = await m.find(FlagEnvironmentEntity, { where: { flagKey: In(keys) } });
    for (const { id, ref } of parsed) {
      const f = flags.get(ref?.flag as string);
      if (!f || !ref) continue;
      const row = configs.find((c) => c.flagKey === f.key && c.environment === ref.environment);
      out.set(id, {
        type: 'flag',
        id,
        // A flag reaches every tenant; it has no tenant of its own.
        tenantId: '',
        name: f.description
          ? `${f.key} (${ref.environment}): ${f.description}`
          : `${f.key} (${ref.environment})`,
        tier: 'standard',
        region: null,
        state: state(row, f.archived),
      });
    }
    return out;
  },
  resolveSelector: async () => [],
  async explainUnknown(m: EntityManager, ids: readonly string[]) {
    const out = new Map<string, string>();
    for (const id of ids) {
      const ref = splitTarget(id);
      out.set(id, ref ? `no flag ${ref.flag}` : `a flag target is <environment>/<flagKey>, not ${id}`);
    }
    return out;
  },
};

export function driftError(message: string) {
  return conflict('FLAG.DRIFT', message);
}
