import { CrSignalScope, SignalFacts, signalConcerns } from './signal-scope';

const signal = (s: Partial<SignalFacts>): SignalFacts => ({
  changeRequestId: null,
  tenantId: null,
  flagKey: null,
  environment: null,
  ...s,
});

// A production flag.rollout of new-ui that has exposed acme.
const prodRollout: CrSignalScope = {
  changeRequestId: 'cr-1',
  tenants: new Set(['acme']),
  flags: [{ flag: 'new-ui', environment: 'production' }],
};
// A tenant operation: no flags, so no environment of its own.
const softDelete: CrSignalScope = { changeRequestId: 'cr-2', tenants: new Set(['acme']), flags: [] };

describe('signalConcerns', () => {
  it('a flag signal with an environment counts only against CRs changing the flag in that environment', () => {
    expect(signalConcerns(signal({ flagKey: 'new-ui', environment: 'production' }), prodRollout)).toBe(true);
    expect(signalConcerns(signal({ flagKey: 'new-ui', environment: 'development' }), prodRollout)).toBe(
      false,
    );
    expect(signalConcerns(signal({ flagKey: 'other', environment: 'production' }), prodRollout)).toBe(false);
  });

  it('a flag signal without an environment counts in every environment (as before ADR 0007)', () => {
    expect(signalConcerns(signal({ flagKey: 'new-ui' }), prodRollout)).toBe(true);
    expect(signalConcerns(signal({ flagKey: 'other' }), prodRollout)).toBe(false);
  });

  it('a signal from another environment does not reach a flag CR through a tenant of its waves either', () => {
    const devReport = signal({ flagKey: 'new-ui', tenantId: 'acme', environment: 'development' });
    expect(signalConcerns(devReport, prodRollout)).toBe(false);
    expect(signalConcerns(signal({ tenantId: 'acme', environment: 'development' }), prodRollout)).toBe(false);
    expect(signalConcerns(signal({ tenantId: 'acme', environment: 'production' }), prodRollout)).toBe(true);
    expect(signalConcerns(signal({ tenantId: 'acme' }), prodRollout)).toBe(true);
    expect(signalConcerns(signal({ tenantId: 'globex', environment: 'production' }), prodRollout)).toBe(
      false,
    );
  });

  it('tenant matching of CRs without flags ignores the environment; naming the CR always counts', () => {
    expect(signalConcerns(signal({ tenantId: 'acme', environment: 'development' }), softDelete)).toBe(true);
    expect(signalConcerns(signal({ tenantId: 'globex', environment: 'development' }), softDelete)).toBe(
      false,
    );
    expect(signalConcerns(signal({ flagKey: 'new-ui', environment: 'production' }), softDelete)).toBe(false);
    expect(signalConcerns(signal({ changeRequestId: 'cr-1', environment: 'development' }), prodRollout)).toBe(
      true,
    );
  });
});
