import { definitionUrls, parseProviderDefinition } from './provider-definition';

const op = (o: Record<string, unknown> = {}) => ({
  name: 'deactivate_app',
  targetType: 'installation',
  risk: 'reversible',
  mode: 'deactivate',
  endpoints: {
    state: 'https://p.example/state',
    apply: 'https://p.example/apply',
    undo: 'https://p.example/undo',
    verify: 'https://p.example/verify',
  },
  ...o,
});
const def = (o: Record<string, unknown> = {}) => ({
  name: 'platform',
  secret: 'a-shared-secret-of-some-length',
  operations: [op()],
  ...o,
});
const fields = (raw: unknown, requireSecret = true) =>
  parseProviderDefinition(raw, { requireSecret }).details.map((d) => d.field);

describe('parseProviderDefinition', () => {
  it('accepts a valid definition and keeps the secret apart', () => {
    const r = parseProviderDefinition(def({ inventory: { url: 'https://p.example/inv' } }), {
      requireSecret: true,
    });
    expect(r.details).toEqual([]);
    expect(r.secret).toBe('a-shared-secret-of-some-length');
    expect(JSON.stringify(r.definition)).not.toContain('a-shared-secret');
    expect(r.definition.inventory).toEqual({ url: 'https://p.example/inv', pageSize: 500 });
    expect(definitionUrls(r.definition).map((u) => u.field)).toEqual([
      'inventory.url',
      'operations[0].endpoints.state',
      'operations[0].endpoints.apply',
      'operations[0].endpoints.undo',
      'operations[0].endpoints.verify',
    ]);
  });

  it('needs undo for a reversible operation and refuses it for an irreversible one', () => {
    const { undo: _u, ...noUndo } = op().endpoints;
    expect(fields(def({ operations: [op({ endpoints: noUndo })] }))).toEqual([
      'operations[0].endpoints.undo',
    ]);
    expect(fields(def({ operations: [op({ risk: 'irreversible' })] }))).toEqual([
      'operations[0].endpoints.undo',
    ]);
    expect(fields(def({ operations: [op({ risk: 'irreversible', endpoints: noUndo })] }))).toEqual([]);
  });

  it('refuses a reversible permanent delete, reserved and bad names, credentials in URLs, unknown fields', () => {
    expect(fields(def({ operations: [op({ mode: 'permanent_delete' })] }))).toEqual(['operations[0].risk']);
    expect(fields(def({ name: 'tenant' }))).toEqual(['name']);
    expect(fields(def({ name: 'A b' }))).toEqual(['name']);
    const creds = op({ endpoints: { ...op().endpoints, apply: 'https://u:p@p.example/apply' } });
    expect(fields(def({ operations: [creds] }))).toEqual(['operations[0].endpoints.apply']);
    expect(fields(def({ extra: 1, operations: [op({ targetType: 'flag', bogus: 1 })] }))).toEqual([
      'extra',
      'operations[0].bogus',
      'operations[0].targetType',
    ]);
    expect(fields(def({ operations: [op(), op()] }))).toEqual(['operations[1].name']);
    expect(fields({ ...def(), secret: undefined })).toEqual(['secret']);
    expect(fields({ ...def(), secret: undefined }, false)).toEqual([]);
  });
});
