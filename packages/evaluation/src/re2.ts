import { Re2Program } from './re2-program';
import { orbitOf, foldRanges } from './re2-charset';
import { parseRe2, type Node } from './re2-syntax';

// REGEX constraints use RE2 syntax and semantics (the Unleash node SDK compiles them with re2js, the
// Rust engine with the `regex` crate). A pattern is parsed as RE2 parses it (re2-syntax.ts), then run
// either as an equivalent JavaScript RegExp, when it has no repetition and so cannot backtrack
// badly, or else on the linear-time matcher (re2-program.ts). A pattern RE2 rejects compiles to undefined:
// such a constraint never matches, as in the SDKs.

export interface Re2Matcher {
  // Whether the pattern matches anywhere in the input (RE2's find()).
  test(input: string): boolean;
}

function hex(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

function rangesSource(ranges: number[]): string {
  let out = '';
  for (let k = 0; k < ranges.length; k += 2) {
    out += ranges[k] === ranges[k + 1] ? hex(ranges[k]) : `${hex(ranges[k])}-${hex(ranges[k + 1])}`;
  }
  return out;
}

const ASSERT_SOURCE = {
  bot: '^',
  eot: '$',
  bol: '(?<![^\\n])',
  eol: '(?![^\\n])',
  wordb: '\\b',
  nwordb: '\\B',
} as const;

// The equivalent JavaScript source, with the `u` flag (case folding already spelled out as sets).
function source(node: Node): string {
  switch (node.t) {
    case 'lit': {
      const orbit = node.fold ? orbitOf(node.cp) : [node.cp];
      return orbit.length > 1 ? `[${orbit.map(hex).join('')}]` : hex(node.cp);
    }
    case 'class': {
      const ranges = node.fold ? foldRanges(node.ranges) : node.ranges;
      return `[${node.negated ? '^' : ''}${rangesSource(ranges)}${node.props.join('')}]`;
    }
    case 'dot':
      return node.nl ? '[^]' : '[^\\n]';
    case 'assert':
      return ASSERT_SOURCE[node.kind];
    case 'alt':
      return `(?:${node.alts.map((seq) => seq.map(source).join('')).join('|')})`;
    case 'rep': {
      const max = node.max === Infinity ? '' : String(node.max);
      return `(?:${source(node.node)}){${node.min},${max}}`;
    }
  }
}

// Whether the linear-time matcher must run the pattern: it repeats (JavaScript would backtrack), or folds
// case in a \p{..} class (which a RegExp cannot do for part of a pattern).
function needsProgram(node: Node): boolean {
  switch (node.t) {
    case 'rep':
      return node.max > 1 || needsProgram(node.node);
    case 'alt':
      return node.alts.some((seq) => seq.some(needsProgram));
    case 'class':
      return node.fold && node.props.length > 0;
    default:
      return false;
  }
}

export function compileRe2(pattern: string, caseInsensitive = false): Re2Matcher | undefined {
  try {
    const ast = parseRe2(pattern, caseInsensitive);
    return needsProgram(ast) ? new Re2Program(ast) : new RegExp(source(ast), 'u');
  } catch {
    // RE2 syntax errors, programs too large, and \p{..} names JavaScript does not know.
    return undefined;
  }
}
