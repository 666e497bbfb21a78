import { compileRe2 } from './re2';

function matches(pattern: string, input: string, caseInsensitive = false): boolean {
  const re = compileRe2(pattern, caseInsensitive);
  if (re === undefined) throw new Error(`rejected: ${pattern}`);
  return re.test(input);
}

describe('RE2 patterns', () => {
  it('anchors ^ and $ to the whole text unless (?m)', () => {
    expect(matches('^foo$', 'x\nfoo\ny')).toBe(false);
    expect(matches('(?m)^foo$', 'x\nfoo\ny')).toBe(true);
    expect(matches('foo$', 'foo\n')).toBe(false);
    expect(matches('\\Afoo\\z', 'foo')).toBe(true);
  });

  it('lets . match a newline only under (?s)', () => {
    expect(matches('^a.b$', 'a\nb')).toBe(false);
    expect(matches('^(?s)a.b$', 'a\nb')).toBe(true);
    expect(matches('^a.b$', 'a\rb')).toBe(true);
  });

  it('scopes (?i) to the rest of its group, and (?i:...) to its body', () => {
    expect(matches('^(?i)abc$', 'AbC')).toBe(true);
    expect(matches('^a(?i)bc$', 'ABC')).toBe(false);
    expect(matches('^a(?i)bc$', 'aBC')).toBe(true);
    expect(matches('^(a(?i)b)c$', 'aBc')).toBe(true);
    expect(matches('^(a(?i)b)c$', 'aBC')).toBe(false);
    expect(matches('^a(?i:b)c$', 'aBc')).toBe(true);
    expect(matches('^(?i)a(?-i)b$', 'Ab')).toBe(true);
    expect(matches('^(?i)a(?-i)b$', 'AB')).toBe(false);
    expect(matches('^abc$', 'ABC', true)).toBe(true);
  });

  it('folds case with Unicode orbits (Kelvin sign, long s) like RE2', () => {
    expect(matches('^a(?i)k$', 'a\u212a')).toBe(true);
    expect(matches('^a(?i)s$', 'a\u017f')).toBe(true);
    expect(matches('^[[:^alpha:]]$', 'k', true)).toBe(false);
  });

  it('supports POSIX classes, Perl classes, Unicode classes, \\Q..\\E, escapes', () => {
    expect(matches('^[[:alpha:]]+$', 'AlphaBeta')).toBe(true);
    expect(matches('^[[:alpha:]]+$', 'Alpha1')).toBe(false);
    expect(matches('^[[:^digit:]x]+$', 'abx')).toBe(true);
    expect(matches('^\\d{3}$', '123')).toBe(true);
    // RE2's \s is ASCII whitespace only.
    expect(matches('^\\s$', '\u00a0')).toBe(false);
    expect(matches('^\\pL+$', 'héllo')).toBe(true);
    expect(matches('^\\p{Greek}+$', 'αβγ')).toBe(true);
    expect(matches('^\\Qa.b\\E$', 'a.b')).toBe(true);
    expect(matches('^\\Qa.b\\E$', 'axb')).toBe(false);
    expect(matches('^\\x41\\x{1F600}$', 'A\u{1F600}')).toBe(true);
    expect(matches('^.$', '\u{1F600}')).toBe(true);
    expect(matches('^a{,3}$', 'a{,3}')).toBe(true);
  });

  it('searches rather than matching the whole input', () => {
    expect(matches('\\bcat\\b', 'a cat b')).toBe(true);
    expect(matches('\\bcat\\b', 'concatenate')).toBe(false);
  });

  it('folds case in Unicode property classes under (?i), like RE2', () => {
    expect(matches('^[\\p{Lu}0-9]+$', 'abc', true)).toBe(true);
    expect(matches('^[\\p{Lu}0-9]+$', 'abc')).toBe(false);
  });

  it('runs repeating patterns in linear time, where a backtracking engine would not finish', () => {
    const started = Date.now();
    expect(matches('^(a+)+$', `${'a'.repeat(30000)}b`)).toBe(false);
    expect(matches('^(a|aa)*c$', `${'a'.repeat(30000)}`)).toBe(false);
    expect(matches('^(a+)+$', 'a'.repeat(30000))).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('accepts nested repetition up to 1000 copies in all, as RE2 does', () => {
    expect(compileRe2('((a{10}){10}){10}')).toBeDefined();
    expect(compileRe2('(?:x{2}){501}')).toBeUndefined();
    expect(compileRe2('(?:x+){1000}')).toBeDefined();
  });

  it.each([
    '(?=a)b',
    '(?!a)b',
    '(?<=a)b',
    '(?<!a)b',
    '(a)\\1',
    '(a',
    'a)',
    'a**',
    '*a',
    'x{1001}',
    'x{2,1}',
    '[z-a]',
    '\\C',
    '\\Z',
    '[[:foo:]]',
    '\\',
    '\\p{NotAScript}',
  ])('rejects %j as RE2 does', (pattern) => expect(compileRe2(pattern)).toBeUndefined());
});
