import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fieldReader, genericFieldReader, resolveContextValue } from './context';
import type { EvaluationContext } from './types';

// Field names a flag configuration could carry, including ones that would break out of a string literal or a
// template if they were pasted into code rather than written as a JSON string.
const HOSTILE_NAMES = [
  'plan',
  'userId',
  '',
  ' ',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'properties',
  '0',
  '42',
  '-1',
  '"',
  "'",
  '`',
  '\\',
  '\\"',
  '${process.exit(1)}',
  '"]; globalThis.__wavegatePwned = 1; //',
  "'); globalThis.__wavegatePwned = 1; //",
  '`); globalThis.__wavegatePwned = 1; //',
  '\n}); globalThis.__wavegatePwned = 1; (function(){\n',
  'line\u2028separator\u2029paragraph',
  '\ud800',
  '\udfff\ud800',
  '</script>',
  '😊',
  'a.b',
  'a[b]',
];

function contextsFor(name: string): EvaluationContext[] {
  return [
    {},
    { [name]: 'top' },
    { [name]: 7 },
    { [name]: true },
    { [name]: null, properties: { [name]: 'from-properties' } },
    { [name]: undefined, properties: { [name]: 12.5 } },
    { properties: { [name]: 'from-properties' } },
    { properties: { [name]: null } },
    { properties: null } as unknown as EvaluationContext,
    { [name]: '', properties: { [name]: 'ignored: the top-level empty string wins' } },
    { [name]: { nested: true } },
    Object.assign(Object.create(null) as EvaluationContext, { [name]: 'null-prototype' }),
  ];
}

describe('fieldReader', () => {
  it.each(HOSTILE_NAMES.map((n) => [JSON.stringify(n), n]))(
    'reads %s exactly as resolveContextValue does, and runs nothing from the name',
    (_label, name) => {
      const specialised = fieldReader(name);
      const generic = genericFieldReader(name);
      for (const ctx of contextsFor(name)) {
        const expected = resolveContextValue(ctx, name);
        expect(specialised(ctx)).toBe(expected);
        expect(generic(ctx)).toBe(expected);
      }
      expect((globalThis as Record<string, unknown>).__wavegatePwned).toBeUndefined();
    },
  );

  it('is made once per field name, as a generated function of its own where code generation is allowed', () => {
    // A mistake in the generated source would not show in results (the generic reader answers alike): it would
    // only make every read slow again. The generated reader is named readField; the generic one is an arrow.
    expect(fieldReader('tenantId').name).toBe('readField');
    expect(fieldReader('"]; throw 1; //').name).toBe('readField');
    expect(genericFieldReader('tenantId').name).not.toBe('readField');
    expect(fieldReader('tenantId')).toBe(fieldReader('tenantId'));
    expect(fieldReader('tenantId')).not.toBe(fieldReader('plan'));
  });

  it('falls back to the generic reader where code generation from strings is disallowed', () => {
    // A real process with the V8 restriction: flags still evaluate, with the same results.
    const script = `
      const { compile } = require('./packages/evaluation/src');
      let blocked = false;
      try { new Function('return 1'); } catch { blocked = true; }
      const engine = compile({ version: 2, features: [
        { name: 'f', enabled: true, strategies: [{ name: 'flexibleRollout',
          parameters: { rollout: '100', stickiness: 'tenantId', groupId: 'f' },
          constraints: [{ contextName: 'plan', operator: 'IN', values: ['pro'] },
                        { contextName: 'appVersion', operator: 'SEMVER_GT', value: '1.0.0' }] }] },
      ] });
      process.stdout.write(JSON.stringify({ blocked, results: [
        engine.isEnabled('f', { properties: { plan: 'pro', tenantId: 't1', appVersion: '1.2.0' } }),
        engine.isEnabled('f', { plan: 'pro', tenantId: 't1', properties: { appVersion: '1.2.0' } }),
        engine.isEnabled('f', { properties: { plan: 'free', tenantId: 't1', appVersion: '1.2.0' } }),
        engine.isEnabled('f', { properties: { plan: 'pro', appVersion: '1.2.0' } }),
      ] }));`;
    const root = resolve(__dirname, '../../..');
    const out = execFileSync(
      process.execPath,
      ['--disallow-code-generation-from-strings', '-r', 'ts-node/register/transpile-only', '-e', script],
      { cwd: root, encoding: 'utf8', timeout: 60_000 },
    );
    expect(JSON.parse(out)).toEqual({ blocked: true, results: [true, true, false, false] });
  });
});
