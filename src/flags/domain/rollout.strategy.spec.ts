import { FlagEnvironmentConfig, Strategy } from './flag.model';
import { addRolloutTenant, removeRolloutTenant, rolloutStrategyId, rolloutTenants } from './rollout.strategy';

const ID = rolloutStrategyId('cr-1');
const OFF: FlagEnvironmentConfig = { enabled: false, strategies: [], variants: [] };
const other = (over: Partial<Strategy> = {}): Strategy => ({
  id: 'other',
  name: 'userWithId',
  parameters: { userIds: 'u1' },
  constraints: [],
  segments: [],
  variants: [],
  ...over,
});

function add(config: FlagEnvironmentConfig, tenant: string): FlagEnvironmentConfig {
  const r = addRolloutTenant(config, ID, tenant, 'flag.rollout cr-1');
  if (!r.ok) throw new Error(r.reason);
  return r.config;
}

function remove(config: FlagEnvironmentConfig, tenant: string): FlagEnvironmentConfig {
  const r = removeRolloutTenant(config, ID, tenant);
  if (!r.ok) throw new Error(r.reason);
  return r.config;
}

describe('flag.rollout strategy edits', () => {
  it('the first tenant creates the strategy and switches the environment on; later ones extend its list', () => {
    const one = add(OFF, 'acme');
    expect(one.enabled).toBe(true);
    expect(one.strategies).toEqual([
      {
        id: 'rollout-cr-1',
        name: 'tenantWithId',
        title: 'flag.rollout cr-1',
        parameters: { tenantIds: 'acme' },
        constraints: [],
        segments: [],
        variants: [],
      },
    ]);
    const three = add(add(one, 'globex'), 'initech');
    expect(rolloutTenants(three, ID)).toEqual(['acme', 'globex', 'initech']);
  });

  it('adding a tenant twice changes nothing (an apply that is retried)', () => {
    const one = add(OFF, 'acme');
    expect(addRolloutTenant(one, ID, 'acme', 't')).toEqual({ ok: true, changed: false, config: one });
  });

  it('is appended after the strategies that are there, which keep their order', () => {
    const on: FlagEnvironmentConfig = { enabled: true, strategies: [other()], variants: [] };
    expect(add(on, 'acme').strategies.map((s) => s.id)).toEqual(['other', ID]);
  });

  it('refuses to switch on a disabled environment that has other active strategies', () => {
    const r = addRolloutTenant({ enabled: false, strategies: [other()], variants: [] }, ID, 'acme', 't');
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/1 other active strategy/) });
    // A disabled other strategy exposes nobody: allowed.
    expect(
      addRolloutTenant(
        { enabled: false, strategies: [other({ disabled: true })], variants: [] },
        ID,
        'acme',
        't',
      ).ok,
    ).toBe(true);
  });

  it('refuses when its strategy was disabled by hand', () => {
    const one = add(OFF, 'acme');
    const disabled = { ...one, strategies: one.strategies.map((s) => ({ ...s, disabled: true })) };
    expect(addRolloutTenant(disabled, ID, 'globex', 't').ok).toBe(false);
  });

  it('undo removes the tenant; the last one removes the strategy and switches the environment off', () => {
    const two = add(add(OFF, 'acme'), 'globex');
    const one = remove(two, 'globex');
    expect(rolloutTenants(one, ID)).toEqual(['acme']);
    expect(one.enabled).toBe(true);
    expect(remove(one, 'acme')).toEqual(OFF);
    // Not there (never applied, or removed already): no change.
    expect(removeRolloutTenant(one, ID, 'nobody')).toEqual({ ok: true, changed: false, config: one });
    expect(removeRolloutTenant(OFF, ID, 'acme')).toEqual({ ok: true, changed: false, config: OFF });
  });

  it('undo leaves the environment on when other active strategies remain, and never touches them', () => {
    const on: FlagEnvironmentConfig = { enabled: true, strategies: [other()], variants: [] };
    expect(remove(add(on, 'acme'), 'acme')).toEqual(on);
    const onlyDisabled: FlagEnvironmentConfig = {
      enabled: true,
      strategies: [other({ disabled: true })],
      variants: [],
    };
    expect(remove(add(onlyDisabled, 'acme'), 'acme')).toEqual({ ...onlyDisabled, enabled: false });
  });

  it('other rollouts of the same flag keep their own strategies', () => {
    const mine = add(OFF, 'acme');
    const theirs = addRolloutTenant(mine, rolloutStrategyId('cr-2'), 'globex', 't');
    if (!theirs.ok) throw new Error(theirs.reason);
    const after = remove(theirs.config, 'acme');
    expect(after.strategies.map((s) => s.id)).toEqual(['rollout-cr-2']);
    expect(after.enabled).toBe(true);
  });
});
