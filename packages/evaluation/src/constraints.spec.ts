import { compileConstraint, isKnownOperator } from './constraints';
import type { Constraint, EvaluationContext } from './types';

const env = { now: () => Date.parse('2024-06-01T00:00:00Z') };

function check(constraint: Constraint, context: EvaluationContext): boolean {
  return compileConstraint(constraint, env)(context);
}

describe('constraints', () => {
  it('reads top-level context fields first, then properties', () => {
    const c: Constraint = { contextName: 'tenantId', operator: 'IN', values: ['acme'] };
    expect(check(c, { properties: { tenantId: 'acme' } })).toBe(true);
    expect(check(c, { tenantId: 'acme', properties: { tenantId: 'globex' } })).toBe(true);
    expect(check(c, { properties: { tenantId: null } })).toBe(false);
  });

  it('trims values and drops empty ones for IN / NOT_IN; NOT_IN holds when the field is absent', () => {
    expect(check({ contextName: 'userId', operator: 'IN', values: [' 42 ', ''] }, { userId: '42' })).toBe(
      true,
    );
    expect(check({ contextName: 'userId', operator: 'NOT_IN', values: ['1'] }, {})).toBe(true);
    expect(check({ contextName: 'userId', operator: 'IN', values: ['1'] }, {})).toBe(false);
  });

  it('answers IN / NOT_IN the same for every list length (compared one by one or looked up)', () => {
    const pool = ['__proto__', 'constructor', 'toString', 'a', 'b', '1', '01', 'é', '😊', ''];
    for (const n of [0, 1, 2, 4, 5, 8, 50]) {
      const values = Array.from({ length: n }, (_, k) => (k < pool.length ? pool[k] : `v${k}`));
      const members = new Set(values.map((v) => v.trim()).filter((v) => v !== ''));
      for (const probe of [...pool, 'v7', 'v49', 'zz', 42, null, undefined]) {
        const ctx: EvaluationContext = { properties: { field: probe as string | undefined } };
        const present = probe !== null && probe !== undefined;
        const expected = present && members.has(String(probe));
        expect([n, probe, check({ contextName: 'field', operator: 'IN', values }, ctx)]).toEqual([
          n,
          probe,
          expected,
        ]);
        expect([n, probe, check({ contextName: 'field', operator: 'NOT_IN', values }, ctx)]).toEqual([
          n,
          probe,
          !expected,
        ]);
      }
    }
  });

  it('compares strings with and without case', () => {
    const ends: Constraint = { contextName: 'email', operator: 'STR_ENDS_WITH', values: ['@Acme.com'] };
    expect(check(ends, { properties: { email: 'a@acme.com' } })).toBe(false);
    expect(check({ ...ends, caseInsensitive: true }, { properties: { email: 'a@ACME.COM' } })).toBe(true);
    const contains: Constraint = {
      contextName: 'name',
      operator: 'STR_CONTAINS',
      values: ['ÜB'],
      caseInsensitive: true,
    };
    expect(check(contains, { properties: { name: 'Grüße Über' } })).toBe(true);
    expect(check(contains, { properties: { name: 'plain ascii' } })).toBe(false);
    const starts: Constraint = {
      contextName: 'name',
      operator: 'STR_STARTS_WITH',
      values: ['ab'],
      caseInsensitive: true,
    };
    expect(check(starts, { properties: { name: 'ABC' } })).toBe(true);
    expect(check(starts, {})).toBe(false);
  });

  it('compares numbers, treating an unparseable value as no match', () => {
    const gt: Constraint = { contextName: 'n', operator: 'NUM_GT', value: '10' };
    expect(check(gt, { properties: { n: '10.5' } })).toBe(true);
    expect(check(gt, { properties: { n: 11 } })).toBe(true);
    expect(check(gt, { properties: { n: 'ten' } })).toBe(false);
    expect(check({ ...gt, inverted: true }, { properties: { n: 'ten' } })).toBe(true);
    expect(check({ contextName: 'n', operator: 'NUM_EQ', value: 'x' }, { properties: { n: '1' } })).toBe(
      false,
    );
  });

  it('compares dates with currentTime, else now', () => {
    const after: Constraint = {
      contextName: 'currentTime',
      operator: 'DATE_AFTER',
      value: '2024-01-01T00:00:00Z',
    };
    expect(check(after, {})).toBe(true);
    expect(check(after, { currentTime: '2023-12-31T23:59:59Z' })).toBe(false);
    expect(check(after, { currentTime: new Date('2024-02-01T00:00:00Z') })).toBe(true);
    expect(check(after, { currentTime: 'garbage' })).toBe(false);
  });

  it('compares semantic versions; a context version with a leading v never matches', () => {
    const gte: Constraint = { contextName: 'version', operator: 'SEMVER_GTE', value: '2.0.0-rc.1' };
    expect(check(gte, { properties: { version: '2.0.0' } })).toBe(true);
    expect(check(gte, { properties: { version: '2.0.0-beta.9' } })).toBe(false);
    expect(check(gte, { properties: { version: 'v2.0.0' } })).toBe(false);
    expect(
      check(
        { contextName: 'version', operator: 'SEMVER_EQ', value: 'v1.0.0' },
        { properties: { version: '1.0.0' } },
      ),
    ).toBe(true);
  });

  it('matches regular expressions and CIDR ranges', () => {
    expect(
      check({ contextName: 'userId', operator: 'REGEX', value: '^user\\d+$' }, { userId: 'user12' }),
    ).toBe(true);
    expect(check({ contextName: 'userId', operator: 'REGEX', value: '(broken' }, { userId: 'x' })).toBe(
      false,
    );
    expect(
      check({ contextName: 'userId', operator: 'REGEX', value: '(broken', inverted: true }, { userId: 'x' }),
    ).toBe(true);
    const cidr: Constraint = { contextName: 'remoteAddress', operator: 'IN_CIDR', values: ['10.0.0.0/8'] };
    expect(check(cidr, { remoteAddress: '10.9.8.7' })).toBe(true);
    expect(check(cidr, { remoteAddress: '11.9.8.7' })).toBe(false);
  });

  it('evaluates an unknown operator to false, inverted or not', () => {
    expect(isKnownOperator('NOT_A_VALID_OPERATOR')).toBe(false);
    expect(isKnownOperator('SEMVER_LTE')).toBe(true);
    expect(
      check({ contextName: 'userId', operator: 'NOT_A_VALID_OPERATOR', values: ['1'] }, { userId: '1' }),
    ).toBe(false);
    expect(
      check(
        { contextName: 'userId', operator: 'NOT_A_VALID_OPERATOR', values: ['1'], inverted: true },
        { userId: '1' },
      ),
    ).toBe(false);
  });
});
