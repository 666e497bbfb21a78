import { isPlanHash, planHash } from './plan-hash';

describe('planHash', () => {
  const plan = {
    operation: 'installation.deactivate',
    params: { mode: 'mark', reason: 'legacy' },
    waves: [{ index: 1, targets: [{ type: 'installation', id: 'acme/insight', tier: 'internal' }] }],
  };

  it('is the SHA-256 hex of the canonical JSON', () => {
    // Pinned: a change here changes every stored plan hash and voids every approval in flight.
    expect(planHash({ b: 1, a: [1, 'x'] })).toBe(
      'a88dede55f330dbae7d6c99cb78c43213f114625ed11c8fd0b769d117c06bb50',
    );
    expect(isPlanHash(planHash(plan))).toBe(true);
  });

  it('does not depend on key order', () => {
    const reordered = {
      waves: [{ targets: [{ tier: 'internal', id: 'acme/insight', type: 'installation' }], index: 1 }],
      params: { reason: 'legacy', mode: 'mark' },
      operation: 'installation.deactivate',
    };
    expect(planHash(reordered)).toBe(planHash(plan));
  });

  it('changes with any value, and with target order', () => {
    expect(planHash({ ...plan, params: { mode: 'purge', reason: 'legacy' } })).not.toBe(planHash(plan));
    expect(planHash([1, 2])).not.toBe(planHash([2, 1]));
  });

  it('recognises only lowercase 64-hex strings as plan hashes', () => {
    expect(isPlanHash('A'.repeat(64))).toBe(false);
    expect(isPlanHash('a'.repeat(63))).toBe(false);
    expect(isPlanHash(undefined)).toBe(false);
  });
});
