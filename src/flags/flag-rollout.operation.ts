import { conflict, ErrorDetail, unprocessable } from '../common/errors';
import { DRIFT } from '../operations/builtin.apply';
import { ExecutionContext, Operation, PlannedTarget } from '../operations/operation.types';
import { TenantEntity } from '../tenants/tenant.entity';
import { FLAG_KEY_RE } from './domain/flag.model';
import { addRolloutTenant, removeRolloutTenant, rolloutStrategyId } from './domain/rollout.strategy';
import { FlagsService } from './flags.service';

// `flag.rollout`: exposes a flag tenant by tenant, in the change request's waves. Targets are tenants; wave N
// leaves the flag on for the tenants of waves 1..N through one `tenantWithId` strategy owned by the CR
// (`rollout-<crId>`, served to SDKs as `default` + `tenantId IN [...]`). Each target's apply adds its tenant in the
// engine's per-target transaction and emits `flag.updated`, so the snapshot is rebuilt and SDKs see it on their
// next poll or stream event; undo (rollback) removes it again. Signals naming the flag count against the CR unless
// they name another environment (`signalFlags`), so an SDK error report for the flag from the environment being
// rolled out halts the rollout, and one from any other environment does not (ADR 0007).

export interface FlagRolloutParams {
  flag: string;
  environment: string;
}

export function flagRolloutOperation(flags: FlagsService): Operation<FlagRolloutParams> {
  const edit = async (
    target: PlannedTarget,
    ctx: ExecutionContext<FlagRolloutParams>,
    add: boolean,
  ): Promise<void> => {
    const { flag, environment } = ctx.params;
    if (add) {
      // DESIGN rule 6: the tenant must still be as planned.
      const tenant = await ctx.tx.manager.findOne(TenantEntity, { where: { id: target.tenantId } });
      if (!tenant) throw conflict(DRIFT, `drift: tenant ${target.tenantId} no longer exists`);
      if (tenant.status !== target.state)
        throw conflict(
          DRIFT,
          `drift: tenant:${target.tenantId} is ${tenant.status}, the plan expected ${target.state}`,
        );
    }
    const strategyId = rolloutStrategyId(ctx.changeRequestId);
    await flags.editEnvironment(
      ctx.tx,
      'system',
      flag,
      environment,
      (config) => {
        const r = add
          ? addRolloutTenant(config, strategyId, target.tenantId, `flag.rollout ${ctx.changeRequestId}`)
          : removeRolloutTenant(config, strategyId, target.tenantId);
        if (!r.ok) throw conflict('FLAG.DRIFT', `${flag} in ${environment}: ${r.reason}`);
        return r.changed ? r.config : null;
      },
      { changeRequestId: ctx.changeRequestId },
    );
  };

  return {
    name: 'flag.rollout',
    version: 1,
    targetType: 'tenant',
    risk: 'reversible',
    mode: 'enable_for_tenant',
    summary:
      'Turns the flag on in the environment for each target tenant (a tenantId IN [...] strategy that grows wave by wave); rollback removes the tenants again.',
    parseParams(params) {
      const errors: ErrorDetail[] = [];
      const { flag, environment, ...rest } = params;
      for (const k of Object.keys(rest)) errors.push({ field: `params.${k}`, reason: 'unknown field' });
      if (typeof flag !== 'string' || !FLAG_KEY_RE.test(flag))
        errors.push({ field: 'params.flag', reason: 'required: a flag key' });
      if (typeof environment !== 'string' || environment.length === 0)
        errors.push({ field: 'params.environment', reason: 'required: an environment name' });
      if (errors.length === 0) {
        const known = flags.servedFlag(environment as string, flag as string);
        if (known === 'no-environment')
          errors.push({ field: 'params.environment', reason: `no environment ${String(environment)}` });
        else if (known === 'no-flag')
          errors.push({ field: 'params.flag', reason: `no flag ${String(flag)} (or it is archived)` });
      }
      if (errors.length > 0)
        throw unprocessable(
          'CHANGE_REQUEST.INVALID_PARAMS',
          errors.map((e) => `${e.field}: ${e.reason}`).join('; '),
          errors,
        );
      return { flag: flag as string, environment: environment as string };
    },
    checkEligible: (t) => (t.state !== 'active' ? `not active (status ${t.state})` : null),
    describe: (_t, { params }) => ({
      action: `enable ${params.flag} in ${params.environment} for this tenant`,
      to: `${params.flag} on`,
    }),
    signalFlags: (params) => [{ flag: params.flag, environment: params.environment }],
    apply: (target, ctx) => edit(target, ctx, true),
    undo: (target, ctx) => edit(target, ctx, false),
  };
}
