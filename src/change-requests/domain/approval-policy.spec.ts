import { DomainError } from '../../common/errors';
import {
  DEFAULT_APPROVAL_POLICY,
  approvalRequirement,
  mergeApprovalPolicy,
  requiredApprovals,
  validateApprovalPolicyOverride,
} from './approval-policy';

describe('approval policy', () => {
  const base = { totalActiveTenants: 1000 } as const;

  it('needs 1 approval for a small reversible change', () => {
    expect(requiredApprovals({ ...base, risk: 'reversible', targetCount: 3 })).toBe(1);
  });

  it('needs 2 approvals for an irreversible change, however small', () => {
    const r = approvalRequirement({ ...base, risk: 'irreversible', targetCount: 1 });
    expect(r.required).toBe(2);
    expect(r.overBlastRadius).toBe(false);
    expect(r.reasons).toContain('The operation is irreversible: 2 approvals needed.');
  });

  it('treats 100 tenants as within the limit and 101 as over it', () => {
    expect(requiredApprovals({ risk: 'reversible', targetCount: 100, totalActiveTenants: 10_000 })).toBe(1);
    expect(requiredApprovals({ risk: 'reversible', targetCount: 101, totalActiveTenants: 10_000 })).toBe(2);
  });

  it('treats 10 % of active tenants as within the limit and more as over it', () => {
    expect(requiredApprovals({ risk: 'reversible', targetCount: 10, totalActiveTenants: 100 })).toBe(1);
    const r = approvalRequirement({ risk: 'reversible', targetCount: 11, totalActiveTenants: 100 });
    expect(r).toMatchObject({ required: 2, overBlastRadius: true, share: 0.11 });
    expect(r.reasons.join(' ')).toMatch(
      /11 % of the 100 active tenants, over the blast-radius limit of 10 %/,
    );
  });

  it('the outage replayed: 1,000 installations of 1,000 tenants need 2 approvals', () => {
    expect(requiredApprovals({ risk: 'reversible', targetCount: 1000, totalActiveTenants: 1000 })).toBe(2);
  });

  it('counts any target as over the limit when there are no active tenants', () => {
    const r = approvalRequirement({ risk: 'reversible', targetCount: 1, totalActiveTenants: 0 });
    expect(r).toMatchObject({ required: 2, overBlastRadius: true, share: null });
  });

  it('applies overrides: a higher floor, a looser blast radius, a larger irreversible quorum', () => {
    expect(
      requiredApprovals({ ...base, risk: 'reversible', targetCount: 1, policy: { minApprovals: 2 } }),
    ).toBe(2);
    expect(
      requiredApprovals({
        risk: 'reversible',
        targetCount: 500,
        totalActiveTenants: 1000,
        policy: { blastRadiusMaxTargets: 1000, blastRadiusMaxShare: 1 },
      }),
    ).toBe(1);
    expect(
      requiredApprovals({
        ...base,
        risk: 'irreversible',
        targetCount: 1,
        policy: { irreversibleApprovals: 3 },
      }),
    ).toBe(3);
  });

  it('takes the largest of the rules that apply, never their sum', () => {
    expect(requiredApprovals({ risk: 'irreversible', targetCount: 900, totalActiveTenants: 1000 })).toBe(2);
  });

  it('merges layers in order, later layers win, undefined does not erase', () => {
    const merged = mergeApprovalPolicy(
      { minApprovals: 2, blastRadiusMaxTargets: 50 },
      { minApprovals: undefined, blastRadiusMaxTargets: 20 },
      null,
    );
    expect(merged).toEqual({ ...DEFAULT_APPROVAL_POLICY, minApprovals: 2, blastRadiusMaxTargets: 20 });
  });

  describe('validateApprovalPolicyOverride', () => {
    it('accepts a valid partial override', () => {
      expect(validateApprovalPolicyOverride({ minApprovals: 2, blastRadiusMaxShare: 0.25 })).toEqual({
        minApprovals: 2,
        blastRadiusMaxShare: 0.25,
      });
    });

    it('names every bad field, including unknown keys and a one-checker purge', () => {
      let error: DomainError | undefined;
      try {
        validateApprovalPolicyOverride({
          minApprovals: 0,
          irreversibleApprovals: 1,
          blastRadiusMaxShare: 10,
          minApproval: 2,
        });
      } catch (e) {
        error = e as DomainError;
      }
      expect(error).toBeInstanceOf(DomainError);
      expect(error?.kind).toBe('unprocessable');
      expect(error?.code).toBe('POLICY.INVALID');
      expect(error?.details?.map((d) => d.field).sort()).toEqual([
        'policy.blastRadiusMaxShare',
        'policy.irreversibleApprovals',
        'policy.minApproval',
        'policy.minApprovals',
      ]);
    });

    it('refuses a non-object', () => {
      expect(() => validateApprovalPolicyOverride([1])).toThrow(DomainError);
    });
  });
});
