import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import {
  ApprovalPolicy,
  ApprovalPolicyOverride,
  DEFAULT_APPROVAL_POLICY,
  mergeApprovalPolicy,
  validateApprovalPolicyOverride,
} from '../change-requests/domain/approval-policy';
import { DEFAULT_PENDING_TTL_MS, DEFAULT_START_WINDOW_MS } from '../change-requests/domain/lifecycle';
import { canonicalJson } from '../common/canonical-json';
import { ErrorDetail, unprocessable } from '../common/errors';
import { TransactionRunner, Tx } from '../common/transaction';
import { OperationRegistry } from '../operations/operation.registry';
import { ApprovalPolicyEntity, PolicyScope } from './approval-policy.entity';

export interface ExpirySettings {
  pendingTtlSeconds: number;
  startWindowSeconds: number;
}

export interface PoliciesView {
  defaults: ApprovalPolicy & ExpirySettings;
  operations: Record<string, ApprovalPolicyOverride>;
  environments: Record<string, ApprovalPolicyOverride>;
  expiry: ExpirySettings;
}

export interface EffectivePolicy {
  approval: ApprovalPolicy;
  expiry: ExpirySettings;
}

const DEFAULT_EXPIRY: ExpirySettings = {
  pendingTtlSeconds: DEFAULT_PENDING_TTL_MS / 1000,
  startWindowSeconds: DEFAULT_START_WINDOW_MS / 1000,
};
const ENV_NAME = /^[A-Za-z0-9._-]{1,100}$/;
const MAX_EXPIRY_SECONDS = 30 * 86_400;

/**
 * The operation layer replaces the defaults (an admin may deliberately relax `installation.reactivate`); the
 * environment layer is a floor on top of that: per setting, whichever is stricter wins, so no operation override
 * can relax what production demands.
 */
export function effectiveApprovalPolicy(
  operation?: ApprovalPolicyOverride | null,
  environment?: ApprovalPolicyOverride | null,
): ApprovalPolicy {
  const base = mergeApprovalPolicy(operation);
  if (!environment) return base;
  const env = mergeApprovalPolicy(base, environment);
  return {
    minApprovals: Math.max(base.minApprovals, env.minApprovals),
    irreversibleApprovals: Math.max(base.irreversibleApprovals, env.irreversibleApprovals),
    blastRadiusApprovals: Math.max(base.blastRadiusApprovals, env.blastRadiusApprovals),
    blastRadiusMaxTargets: Math.min(base.blastRadiusMaxTargets, env.blastRadiusMaxTargets),
    blastRadiusMaxShare: Math.min(base.blastRadiusMaxShare, env.blastRadiusMaxShare),
  };
}

@Injectable()
export class PoliciesService {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly operations: OperationRegistry,
  ) {}

  async view(m: EntityManager): Promise<PoliciesView> {
    const rows = await m.find(ApprovalPolicyEntity, { order: { scope: 'ASC', key: 'ASC' } });
    const operations: Record<string, ApprovalPolicyOverride> = {};
    const environments: Record<string, ApprovalPolicyOverride> = {};
    let expiry = { ...DEFAULT_EXPIRY };
    for (const r of rows) {
      if (r.scope === 'operation') operations[r.key] = r.settings;
      else if (r.scope === 'environment') environments[r.key] = r.settings;
      else expiry = { ...expiry, ...r.settings };
    }
    return { defaults: { ...DEFAULT_APPROVAL_POLICY, ...DEFAULT_EXPIRY }, operations, environments, expiry };
  }

  /** The policy a change request of this operation (in this environment, if any) is held to. */
  async effective(m: EntityManager, operation: string, environment: string | null): Promise<EffectivePolicy> {
    const v = await this.view(m);
    return {
      approval: effectiveApprovalPolicy(
        v.operations[operation],
        environment ? v.environments[environment] : null,
      ),
      expiry: v.expiry,
    };
  }

  /** Replaces each section given (`operations`, `environments`, `expiry`); every changed entry is audited. */
  async put(actor: string, body: unknown): Promise<PoliciesView> {
    const parsed = this.parse(body);
    return this.tx.run(async (tx) => {
      const current = await tx.manager.find(ApprovalPolicyEntity);
      const desired: { scope: PolicyScope; key: string; settings: Record<string, number> }[] = [];
      const sections: PolicyScope[] = [];
      if (parsed.operations) {
        sections.push('operation');
        for (const [key, settings] of Object.entries(parsed.operations))
          desired.push({ scope: 'operation', key, settings: settings as Record<string, number> });
      }
      if (parsed.environments) {
        sections.push('environment');
        for (const [key, settings] of Object.entries(parsed.environments))
          desired.push({ scope: 'environment', key, settings: settings as Record<string, number> });
      }
      if (parsed.expiry) {
        sections.push('expiry');
        desired.push({
          scope: 'expiry',
          key: 'default',
          settings: parsed.expiry as unknown as Record<string, number>,
        });
      }
      const keyOf = (r: { scope: string; key: string }) => `${r.scope}:${r.key}`;
      const before = new Map(current.filter((r) => sections.includes(r.scope)).map((r) => [keyOf(r), r]));
      const after = new Map(desired.map((r) => [keyOf(r), r]));
      for (const [k, old] of before) {
        if (!after.has(k)) {
          await tx.manager.delete(ApprovalPolicyEntity, { scope: old.scope, key: old.key });
          this.record(tx, actor, k, old.settings, null);
        }
      }
      for (const [k, next] of after) {
        const old = before.get(k);
        if (old && canonicalJson(old.settings) === canonicalJson(next.settings)) continue;
        const row = Object.assign(new ApprovalPolicyEntity(), {
          ...next,
          updatedBy: actor,
          updatedAt: tx.now,
        });
        if (old)
          await tx.manager.update(
            ApprovalPolicyEntity,
            { scope: next.scope, key: next.key },
            { settings: next.settings, updatedBy: actor, updatedAt: tx.now },
          );
        else await tx.manager.insert(ApprovalPolicyEntity, row);
        this.record(tx, actor, k, old?.settings ?? null, next.settings);
      }
      return this.view(tx.manager);
    });
  }

  private record(
    tx: Tx,
    actor: string,
    id: string,
    before: Record<string, number> | null,
    after: Record<string, number> | null,
  ): void {
    const data = { before, after };
    tx.audit({ actor, action: 'policy.updated', entityType: 'policy', entityId: id, data });
    tx.emit({ type: 'policy.updated', entityType: 'policy', entityId: id, actor, data });
  }

  private parse(body: unknown): {
    operations?: Record<string, ApprovalPolicyOverride>;
    environments?: Record<string, ApprovalPolicyOverride>;
    expiry?: ExpirySettings;
  } {
    const details: ErrorDetail[] = [];
    const isObj = (v: unknown): v is Record<string, unknown> =>
      v !== null && typeof v === 'object' && !Array.isArray(v);
    if (!isObj(body))
      throw unprocessable('POLICY.INVALID', 'body must be an object', [
        { field: 'body', reason: 'must be an object' },
      ]);
    for (const k of Object.keys(body)) {
      if (!['operations', 'environments', 'expiry'].includes(k))
        details.push({ field: k, reason: 'unknown section; expected operations, environments, expiry' });
    }
    const out: ReturnType<PoliciesService['parse']> = {};
    const section = (name: 'operations' | 'environments', keyOk: (k: string) => string | null) => {
      const v = body[name];
      if (v === undefined) return;
      if (!isObj(v)) return details.push({ field: name, reason: 'must be an object keyed by name' });
      const parsed: Record<string, ApprovalPolicyOverride> = {};
      for (const [k, settings] of Object.entries(v)) {
        const bad = keyOk(k);
        if (bad) details.push({ field: `${name}.${k}`, reason: bad });
        try {
          parsed[k] = validateApprovalPolicyOverride(settings, `${name}.${k}`);
        } catch (e) {
          const d = (e as { details?: ErrorDetail[] }).details;
          if (!d) throw e;
          details.push(...d);
        }
      }
      out[name] = parsed;
    };
    section('operations', (k) =>
      this.operations.find(k)
        ? null
        : `unknown operation; expected one of ${this.operations.names().join(', ')}`,
    );
    section('environments', (k) => (ENV_NAME.test(k) ? null : 'not an environment name'));
    if (body.expiry !== undefined) {
      const e = body.expiry;
      if (!isObj(e)) details.push({ field: 'expiry', reason: 'must be an object' });
      else {
        const expiry = { ...DEFAULT_EXPIRY };
        for (const [k, v] of Object.entries(e)) {
          if (k !== 'pendingTtlSeconds' && k !== 'startWindowSeconds') {
            details.push({
              field: `expiry.${k}`,
              reason: 'unknown setting; expected pendingTtlSeconds, startWindowSeconds',
            });
          } else if (typeof v !== 'number' || !Number.isInteger(v) || v < 60 || v > MAX_EXPIRY_SECONDS) {
            details.push({
              field: `expiry.${k}`,
              reason: `must be an integer from 60 to ${MAX_EXPIRY_SECONDS} seconds`,
            });
          } else expiry[k] = v;
        }
        out.expiry = expiry;
      }
    }
    if (details.length > 0) {
      throw unprocessable(
        'POLICY.INVALID',
        `Invalid policies: ${details.map((d) => `${d.field} ${d.reason}`).join('; ')}`,
        details,
      );
    }
    return out;
  }
}
