import { checkDependencies, KnownFlag } from './flag-dependencies';

const flags: KnownFlag[] = [
  { key: 'parent', dependencies: [] },
  { key: 'child', dependencies: [{ feature: 'parent' }] },
  { key: 'other', dependencies: [] },
];

describe('checkDependencies', () => {
  it('keeps a valid dependency, dropping enabled: true and an empty variants list', () => {
    expect(checkDependencies('new', [{ feature: 'parent', enabled: true, variants: [] }], flags)).toEqual({
      ok: true,
      value: [{ feature: 'parent' }],
    });
    expect(checkDependencies('new', [{ feature: 'parent', enabled: false, variants: ['a'] }], flags)).toEqual(
      {
        ok: true,
        value: [{ feature: 'parent', enabled: false, variants: ['a'] }],
      },
    );
  });

  it('names each bad field, in order', () => {
    const r = checkDependencies(
      'new',
      ['x', { feature: 'new' }, { feature: 'nope', extra: 1, enabled: 'yes' }],
      flags,
    );
    expect(r).toEqual({
      ok: false,
      errors: [
        { field: 'dependencies[0]', reason: 'must be an object {feature, enabled?, variants?}' },
        { field: 'dependencies[1].feature', reason: 'a flag cannot depend on itself' },
        { field: 'dependencies[2].extra', reason: 'unknown field' },
        { field: 'dependencies[2].feature', reason: 'no flag nope' },
        { field: 'dependencies[2].enabled', reason: 'must be a boolean' },
      ],
    });
  });

  it('keeps dependencies one level deep, both ways', () => {
    expect(checkDependencies('new', [{ feature: 'child' }], flags)).toMatchObject({
      ok: false,
      errors: [
        {
          field: 'dependencies[0].feature',
          reason: 'child has parents itself; dependencies are one level deep',
        },
      ],
    });
    expect(checkDependencies('parent', [{ feature: 'other' }], flags)).toMatchObject({
      ok: false,
      errors: [{ field: 'dependencies', reason: 'child depend on parent; dependencies are one level deep' }],
    });
  });

  it('checks nothing when there are no dependencies', () => {
    expect(checkDependencies('parent', [], flags)).toEqual({ ok: true, value: [] });
  });
});
