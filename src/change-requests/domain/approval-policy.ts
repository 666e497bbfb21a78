// Approval policy: how many distinct checkers a change request needs (DESIGN.md "Change request lifecycle", rule 2).
// Pure: the caller loads the per-operation and per-environment overrides and passes them in.
//
// Public API
//   interface ApprovalPolicy { minApprovals, irreversibleApprovals, blastRadiusApprovals,
//                              blastRadiusMaxTargets, blastRadiusMaxShare }
//   type ApprovalPolicyOverride = Partial<ApprovalPolicy>
//   DEFAULT_APPROVAL_POLICY                     1 / 2 / 2 / 100 tenants / 0.1 (10 %)
//   mergeApprovalPolicy(...layers): ApprovalPolicy
//       defaults, then each layer in order (e.g. operation, then environment); later layers win, `undefined` is skipped
//   approvalRequirement({risk, targetCount, totalActiveTenants, policy?}): ApprovalRequirement
//       { required, overBlastRadius, share, reasons: string[] } -- reasons are sentences for the plan summary / UI
//   requiredApprovals({risk, targetCount, totalActiveTenants, policy?}): number
//   validateApprovalPolicyOverride(input: unknown, field = 'policy'): ApprovalPolicyOverride
//       for `PUT /api/policies`; throws 422 POLICY.INVALID naming every bad field (`policy.minApprovals`, ...)
//
// Decisions
// - required = max(minApprovals, irreversibleApprovals if irreversible, blastRadiusApprovals if over the limit).
//   `minApprovals` is a floor for every change request; the other two only ever raise the quorum.
// - `targetCount` is the number of distinct tenants the change request touches (an installation target counts its
//   tenant); the caller computes it from the plan. The share is targetCount / totalActiveTenants, a fraction (0.1 = 10 %).
// - "Over the limit" is strictly more than: 100 tenants is within the default limit, 101 is over.
// - With no active tenants the share is undefined (`share: null`) and any target counts as over the limit: a restore
//   after everything was deleted is exactly the moment a second pair of eyes is wanted.
// - Small inventories: with the 10 % default, touching 2 of 10 tenants needs 2 approvals. That is the design's
//   default, deliberately; an admin can raise `blastRadiusMaxShare` (1 disables the share rule).
// - Validation floors: every approval count is an integer >= 1, and `irreversibleApprovals` >= 2 -- an override may
//   make the policy stricter, never let one checker approve an irreversible operation (DESIGN.md: purge needs a
//   larger quorum). Upper bound 10 approvals, 1,000,000 tenants: beyond that it is a typo, not a policy.
import { ErrorDetail, unprocessable } from '../../common/errors';

export interface ApprovalPolicy {
  /** Floor for every change request. */
  minApprovals: number;
  /** Quorum for irreversible operations (`tenant.purge`). */
  irreversibleApprovals: number;
  /** Quorum for a change request over the blast-radius limit. */
  blastRadiusApprovals: number;
  /** Over this many tenants the change request is over the blast-radius limit. */
  blastRadiusMaxTargets: number;
  /** Over this fraction (0..1] of all active tenants the change request is over the blast-radius limit. */
  blastRadiusMaxShare: number;
}

export type ApprovalPolicyOverride = Partial<ApprovalPolicy>;

export const DEFAULT_APPROVAL_POLICY: Readonly<ApprovalPolicy> = Object.freeze({
  minApprovals: 1,
  irreversibleApprovals: 2,
  blastRadiusApprovals: 2,
  blastRadiusMaxTargets: 100,
  blastRadiusMaxShare: 0.1,
});

export interface ApprovalRequirementInput {
  risk: 'reversible' | 'irreversible';
  /** Distinct tenants touched by the change request. */
  targetCount: number;
  totalActiveTenants: number;
  /** Already merged operation/environment overrides; missing members fall back to the defaults. */
  policy?: ApprovalPolicyOverride | null;
}

export interface ApprovalRequirement {
  required: number;
  overBlastRadius: boolean;
  /** targetCount / totalActiveTenants; null when there are no active tenants. */
  share: number | null;
  /** Why the quorum is what it is, one sentence per rule that applied. */
  reasons: string[];
}

const POLICY_KEYS: readonly (keyof ApprovalPolicy)[] = [
  'minApprovals',
  'irreversibleApprovals',
  'blastRadiusApprovals',
  'blastRadiusMaxTargets',
  'blastRadiusMaxShare',
];

export function mergeApprovalPolicy(
  ...layers: readonly (ApprovalPolicyOverride | null | undefined)[]
): ApprovalPolicy {
  const merged: ApprovalPolicy = { ...DEFAULT_APPROVAL_POLICY };
  for (const layer of layers) {
    if (!layer) continue;
    for (const key of POLICY_KEYS) {
      const value = layer[key];
      if (value !== undefined) merged[key] = value;
    }
  }
  return merged;
}

export function approvalRequirement(input: ApprovalRequirementInput): ApprovalRequirement {
  const policy = mergeApprovalPolicy(input.policy);
  const { targetCount, totalActiveTenants } = input;
  const share = totalActiveTenants > 0 ? targetCount / totalActiveTenants : null;
  const overCount = targetCount > policy.blastRadiusMaxTargets;
  const overShare = share === null ? targetCount > 0 : share > policy.blastRadiusMaxShare;
  const overBlastRadius = overCount || overShare;

  // A corrupt override must never lower the quorum below one checker.
  let required = Math.max(1, policy.minApprovals);
  const reasons: string[] = [`Every change request needs at least ${plural(required, 'approval')}.`];
  if (input.risk === 'irreversible' && policy.irreversibleApprovals > required) {
    required = policy.irreversibleApprovals;
    reasons.push(`The operation is irreversible: ${plural(required, 'approval')} needed.`);
  } else if (input.risk === 'irreversible') {
    reasons.push('The operation is irreversible.');
  }
  if (overCount) {
    reasons.push(
      `It touches ${plural(targetCount, 'tenant')}, over the blast-radius limit of ${policy.blastRadiusMaxTargets}.`,
    );
  }
  if (overShare) {
    reasons.push(
      share === null
        ? 'There are no active tenants to compare with, so it counts as over the blast-radius limit.'
        : `It touches ${formatPercent(share)} of the ${totalActiveTenants} active tenants, over the blast-radius limit of ${formatPercent(policy.blastRadiusMaxShare)}.`,
    );
  }
  if (overBlastRadius && policy.blastRadiusApprovals > required) {
    required = policy.blastRadiusApprovals;
    reasons.push(`Over the blast-radius limit: ${plural(required, 'approval')} needed.`);
  }
  return { required, overBlastRadius, share, reasons };
}

export function requiredApprovals(input: ApprovalRequirementInput): number {
  return approvalRequirement(input).required;
}

export function validateApprovalPolicyOverride(input: unknown, field = 'policy'): ApprovalPolicyOverride {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw unprocessable('POLICY.INVALID', `${field} must be an object`, [
      { field, reason: 'must be an object' },
    ]);
  }
  const record = input as Record<string, unknown>;
  const details: ErrorDetail[] = [];
  const out: ApprovalPolicyOverride = {};
  for (const key of Object.keys(record)) {
    // An unknown key is most likely a typo of a real one; ignoring it would silently weaken the policy.
    if (!(POLICY_KEYS as readonly string[]).includes(key)) {
      details.push({
        field: `${field}.${key}`,
        reason: `unknown setting; expected one of ${POLICY_KEYS.join(', ')}`,
      });
    }
  }
  const int = (key: keyof ApprovalPolicy, min: number, max: number) => {
    const value = record[key];
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      details.push({ field: `${field}.${key}`, reason: `must be an integer from ${min} to ${max}` });
    } else {
      out[key] = value;
    }
  };
  int('minApprovals', 1, 10);
  int('irreversibleApprovals', 2, 10);
  int('blastRadiusApprovals', 1, 10);
  int('blastRadiusMaxTargets', 1, 1_000_000);
  const share = record.blastRadiusMaxShare;
  if (share !== undefined) {
    if (typeof share !== 'number' || !Number.isFinite(share) || share <= 0 || share > 1) {
      details.push({
        field: `${field}.blastRadiusMaxShare`,
        reason: 'must be a fraction greater than 0 and at most 1 (0.1 means 10 %)',
      });
    } else {
      out.blastRadiusMaxShare = share;
    }
  }
  if (details.length > 0) {
    throw unprocessable(
      'POLICY.INVALID',
      `Invalid approval policy: ${details.map((d) => d.field).join(', ')}`,
      details,
    );
  }
  return out;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function formatPercent(fraction: number): string {
  const pct = fraction * 100;
  return `${Number.isInteger(pct) ? pct : pct.toFixed(1)} %`;
}
