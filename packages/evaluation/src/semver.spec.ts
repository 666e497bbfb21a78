import { compareSemver, compareSemverString, parseSemver } from './semver';

describe('semver', () => {
  it.each([
    '1.2.3',
    'v1.2.3',
    ' 1.2.3 ',
    '1.2.3-alpha.1',
    '1.0.0-x-y-z.--',
    '1.2.3-rc.1+build.5',
    '1.2.3+001',
  ])('accepts %j', (v) => expect(parseSemver(v)).toBeDefined());

  it.each([
    '1.2',
    '01.2.3',
    '1.2.3-01',
    '1.2.3-',
    '1.2.3+',
    '1.2.3-a..b',
    '=1.2.3',
    '1.2.3.4',
    'not a semver',
    '',
  ])('rejects %j', (v) => expect(parseSemver(v)).toBeUndefined());

  it('orders versions as semver does, numeric pre-release identifiers numerically', () => {
    const ordered = [
      '1.0.0-1',
      '1.0.0-2',
      '1.0.0-10',
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.0.1',
      '1.10.0',
      '2.0.0',
    ];
    for (let a = 0; a < ordered.length; a++) {
      for (let b = 0; b < ordered.length; b++) {
        const expected = Math.sign(a - b);
        const pa = parseSemver(ordered[a]);
        const pb = parseSemver(ordered[b]);
        if (pa === undefined || pb === undefined) throw new Error('unparseable');
        expect([ordered[a], ordered[b], compareSemver(pa, pb)]).toEqual([ordered[a], ordered[b], expected]);
        expect([ordered[a], ordered[b], compareSemverString(ordered[a], pb)]).toEqual([
          ordered[a],
          ordered[b],
          expected,
        ]);
      }
    }
  });

  it('ignores build metadata and reports invalid input as NaN', () => {
    const target = parseSemver('1.2.3') as NonNullable<ReturnType<typeof parseSemver>>;
    expect(compareSemverString('1.2.3+build.7', target)).toBe(0);
    expect(compareSemverString('1.2', target)).toBeNaN();
  });
});
