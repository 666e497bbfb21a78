// RE2 syntax, parsed as RE2 parses it with its Perl flags: `^`/`$` anchor the text unless (?m), `.`
// excludes only \n unless (?s), inline (?flags) and (?flags:re) scoped to their group, POSIX [[:alpha:]],
// Perl \d \s \w (ASCII), \pN and \p{Greek}, \Q..\E, \A, \z, octal and \x{..} escapes. What RE2
// rejects (lookaround, backreferences, bad syntax, repeat counts over 1000) throws Re2SyntaxError.
// Case folding (?i) is resolved here into explicit character sets where a later stage needs it.

import {
  complement,
  foldRanges,
  GENERAL_CATEGORIES,
  MAX_CP,
  normalize,
  PERL_CLASSES,
  POSIX_CLASSES,
} from './re2-charset';

export type Node =
  | { t: 'lit'; cp: number; fold: boolean }
  | { t: 'class'; ranges: number[]; props: string[]; negated: boolean; fold: boolean }
  | { t: 'dot'; nl: boolean }
  | { t: 'assert'; kind: AssertKind }
  | { t: 'alt'; alts: Node[][] }
  | { t: 'rep'; node: Node; min: number; max: number; lazy: boolean };

// Zero-width assertions: text start/end, line start/end (under (?m)), word boundary and its negation.
export type AssertKind = 'bot' | 'eot' | 'bol' | 'eol' | 'wordb' | 'nwordb';

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

export class Re2SyntaxError extends Error {}

const MAX_REPEAT = 1000;

// How many copies of its innermost atom a node expands to; RE2 refuses nested repetitions beyond 1000.
function repeatProduct(node: Node): number {
  switch (node.t) {
    case 'rep':
      return Math.max(node.max === Infinity ? node.min : node.max, 1) * repeatProduct(node.node);
    case 'alt': {
      let max = 1;
      for (const seq of node.alts) for (const n of seq) max = Math.max(max, repeatProduct(n));
      return max;
    }
    default:
      return 1;
  }
}

class Parser {
  private pos = 0;

  constructor(
    private readonly src: string,
    private flags: Flags,
  ) {}

  parse(): Node {
    const node = this.alternation(0);
    if (this.pos < this.src.length) throw new Re2SyntaxError('unexpected )');
    return node;
  }

  private peek(offset = 0): number {
    const i = this.pos + offset;
    return i < this.src.length ? this.src.charCodeAt(i) : -1;
  }

  private nextCodePoint(): number {
    const cp = this.src.codePointAt(this.pos);
    if (cp === undefined) throw new Re2SyntaxError('unexpected end');
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  private alternation(depth: number): Node {
    const saved = this.flags;
    const alts: Node[][] = [];
    let seq: Node[] = [];
    let lastWasRepeat = false;
    // A repetition right after (?flags) has nothing to repeat.
    let afterFlags = false;
    while (this.pos < this.src.length) {
      const c = this.peek();
      if (c === 0x29 /* ) */) {
        if (depth === 0) throw new Re2SyntaxError('unexpected )');
        break;
      }
      if (c === 0x7c /* | */) {
        this.pos++;
        alts.push(seq);
        seq = [];
        lastWasRepeat = false;
        afterFlags = false;
        continue;
      }
      const rep = this.repetition();
      if (rep !== undefined) {
        if (lastWasRepeat) throw new Re2SyntaxError('invalid nested repetition operator');
        const last = afterFlags ? undefined : seq.pop();
        if (last === undefined) throw new Re2SyntaxError('missing argument to repetition operator');
        const node: Node = { t: 'rep', node: last, min: rep[0], max: rep[1], lazy: rep[2] };
        if (repeatProduct(node) > MAX_REPEAT) throw new Re2SyntaxError('invalid repeat count');
        seq.push(node);
        lastWasRepeat = true;
        continue;
      }
      lastWasRepeat = false;
      const atom = this.atom(depth);
      afterFlags = atom === undefined;
      if (atom !== undefined) seq.push(atom);
    }
    alts.push(seq);
    this.flags = saved;
    return { t: 'alt', alts };
  }

  // A repetition operator at pos: [min, max, lazy], or undefined.
  private repetition(): [number, number, boolean] | undefined {
    const c = this.peek();
    let min: number;
    let max: number;
    if (c === 0x2a) [min, max] = [0, Infinity];
    else if (c === 0x2b) [min, max] = [1, Infinity];
    else if (c === 0x3f) [min, max] = [0, 1];
    else if (c === 0x7b) {
      const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(this.src.slice(this.pos));
      // Not a valid {n,m}: RE2 reads the brace as a literal.
      if (m === null) return undefined;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      if (min > MAX_REPEAT || (max !== Infinity && (max > MAX_REPEAT || max < min))) {
        throw new Re2SyntaxError('invalid repeat count');
      }
      this.pos += m[0].length - 1;
    } else return undefined;
    this.pos++;
    let lazy = false;
    if (this.peek() === 0x3f) {
      this.pos++;
      lazy = true;
    }
    return [min, max, lazy !== this.flags.U];
  }

  private atom(depth: number): Node | undefined {
    const c = this.peek();
    const f = this.flags;
    switch (c) {
      case 0x28 /* ( */:
        return this.group(depth);
      case 0x5b /* [ */:
        this.pos++;
        return this.charClass();
      case 0x2e /* . */:
        this.pos++;
        return { t: 'dot', nl: f.s };
      case 0x5e /* ^ */:
        this.pos++;
        return { t: 'assert', kind: f.m ? 'bol' : 'bot' };
      case 0x24 /* $ */:
        this.pos++;
        return { t: 'assert', kind: f.m ? 'eol' : 'eot' };
      case 0x5c /* \ */:
        return this.escapeAtom();
      default:
        return { t: 'lit', cp: this.nextCodePoint(), fold: f.i };
    }
  }

  private group(depth: number): Node | undefined {
    this.pos++;
    if (this.peek() === 0x3f /* ? */) {
      this.pos++;
      const rest = this.src.slice(this.pos);
      const named = /^P?<([A-Za-z0-9_]+)>/.exec(rest);
      if (named !== null) {
        this.pos += named[0].length;
        return this.groupBody(depth);
      }
      const flagMatch = /^([imsU]*)(?:-([imsU]*))?([:)])/.exec(rest);
      if (flagMatch === null) throw new Re2SyntaxError('invalid or unsupported Perl syntax');
      const [whole, on, off, end] = flagMatch;
      if (off === '') throw new Re2SyntaxError('missing flags after -');
      this.pos += whole.length;
      const next: Flags = { ...this.flags };
      for (const ch of on) next[ch as keyof Flags] = true;
      for (const ch of off ?? '') next[ch as keyof Flags] = false;
      if (end === ')') {
        // (?flags) changes the flags until the end of the enclosing group.
        this.flags = next;
        return undefined;
      }
      const saved = this.flags;
      this.flags = next;
      const body = this.groupBody(depth);
      this.flags = saved;
      return body;
    }
    return this.groupBody(depth);
  }

  private groupBody(depth: number): Node {
    const node = this.alternation(depth + 1);
    if (this.peek() !== 0x29) throw new Re2SyntaxError('missing )');
    this.pos++;
    return node;
  }

  private escapeAtom(): Node {
    const f = this.flags;
    const c = this.peek(1);
    switch (c) {
      case 0x41 /* A */:
        this.pos += 2;
        return { t: 'assert', kind: 'bot' };
      case 0x7a /* z */:
        this.pos += 2;
        return { t: 'assert', kind: 'eot' };
      case 0x62 /* b */:
        this.pos += 2;
        return { t: 'assert', kind: 'wordb' };
      case 0x42 /* B */:
        this.pos += 2;
        return { t: 'assert', kind: 'nwordb' };
      case 0x51 /* Q */: {
        this.pos += 2;
        const end = this.src.indexOf('\\E', this.pos);
        const text = this.src.slice(this.pos, end < 0 ? undefined : end);
        this.pos = end < 0 ? this.src.length : end + 2;
        const lits: Node[] = [];
        for (const ch of text) lits.push({ t: 'lit', cp: ch.codePointAt(0) as number, fold: f.i });
        return { t: 'alt', alts: [lits] };
      }
    }
    const cls = this.classEscape();
    if (cls !== undefined) return { t: 'class', ...cls, negated: false, fold: f.i };
    return { t: 'lit', cp: this.escapedChar(), fold: f.i };
  }

  // \d \s \w (and negations), \pN, \p{Name}, \PN at pos, as ranges and/or property escapes.
  private classEscape(): { ranges: number[]; props: string[] } | undefined {
    if (this.peek() !== 0x5c) return undefined;
    const c = this.peek(1);
    const letter = String.fromCharCode(c);
    const lower = letter.toLowerCase();
    if (lower in PERL_CLASSES && (letter === lower || letter === lower.toUpperCase())) {
      this.pos += 2;
      const ranges = PERL_CLASSES[lower];
      return { ranges: letter === lower ? ranges.slice() : this.negate(ranges), props: [] };
    }
    if (c === 0x70 || c === 0x50 /* p P */) {
      this.pos += 2;
      let name: string;
      if (this.peek() === 0x7b) {
        const close = this.src.indexOf('}', this.pos);
        if (close < 0) throw new Re2SyntaxError('invalid character class range');
        name = this.src.slice(this.pos + 1, close);
        this.pos = close + 1;
      } else {
        name = String.fromCodePoint(this.nextCodePoint());
      }
      let negated = c === 0x50;
      if (name.startsWith('^')) {
        negated = !negated;
        name = name.slice(1);
      }
      if (!/^[A-Za-z_]+$/.test(name)) throw new Re2SyntaxError('invalid character class range');
      if (name === 'Any') return { ranges: negated ? [] : [0, MAX_CP], props: [] };
      const prop = GENERAL_CATEGORIES.has(name) ? name : `Script=${name}`;
      return { ranges: [], props: [`\\${negated ? 'P' : 'p'}{${prop}}`] };
    }
    return undefined;
  }

  // RE2 folds a class before negating it, so that under (?i) [[:^alpha:]] excludes the Kelvin sign too.
  private negate(ranges: number[]): number[] {
    return complement(this.flags.i ? foldRanges(ranges) : ranges);
  }

  // A single escaped character (after the backslash at pos), as RE2 allows it.
  private escapedChar(): number {
    this.pos++;
    if (this.pos >= this.src.length) throw new Re2SyntaxError('trailing backslash');
    const c = this.nextCodePoint();
    switch (c) {
      case 0x61:
        return 0x07;
      case 0x66:
        return 0x0c;
      case 0x6e:
        return 0x0a;
      case 0x72:
        return 0x0d;
      case 0x74:
        return 0x09;
      case 0x76:
        return 0x0b;
      case 0x78 /* x */: {
        const braced = /^\{([0-9A-Fa-f]+)\}/.exec(this.src.slice(this.pos));
        if (braced !== null) {
          const cp = parseInt(braced[1], 16);
          if (cp > MAX_CP) throw new Re2SyntaxError('invalid escape');
          this.pos += braced[0].length;
          return cp;
        }
        const two = /^[0-9A-Fa-f]{2}/.exec(this.src.slice(this.pos));
        if (two === null) throw new Re2SyntaxError('invalid escape');
        this.pos += 2;
        return parseInt(two[0], 16);
      }
    }
    if (c >= 0x30 && c <= 0x37) {
      // Octal; a lone \1..\7 would be a backreference, which RE2 does not support.
      const isOctal = (d: number): boolean => d >= 0x30 && d <= 0x37;
      if (c !== 0x30 && !isOctal(this.peek())) throw new Re2SyntaxError('backreferences are not supported');
      let value = c - 0x30;
      for (let k = 0; k < 2 && isOctal(this.peek()); k++)
        value = value * 8 + (this.src.charCodeAt(this.pos++) - 0x30);
      return value;
    }
    // Any ASCII punctuation may be escaped; letters and digits only as above.
    if (c < 0x80 && !/[0-9A-Za-z]/.test(String.fromCharCode(c))) return c;
    throw new Re2SyntaxError('invalid escape sequence');
  }

  private charClass(): Node {
    const fold = this.flags.i;
    let negated = false;
    if (this.peek() === 0x5e) {
      this.pos++;
      negated = true;
    }
    const ranges: number[] = [];
    const props: string[] = [];
    let first = true;
    for (;;) {
      if (this.pos >= this.src.length) throw new Re2SyntaxError('missing closing ]');
      if (this.peek() === 0x5d && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (this.peek() === 0x5b && this.peek(1) === 0x3a /* [: */) {
        const close = this.src.indexOf(':]', this.pos + 2);
        if (close >= 0) {
          let name = this.src.slice(this.pos + 2, close);
          const neg = name.startsWith('^');
          if (neg) name = name.slice(1);
          const posix = POSIX_CLASSES[name];
          if (posix === undefined) throw new Re2SyntaxError('invalid character class range');
          ranges.push(...(neg ? this.negate(posix) : posix));
          this.pos = close + 2;
          continue;
        }
      }
      const esc = this.classEscape();
      if (esc !== undefined) {
        ranges.push(...esc.ranges);
        props.push(...esc.props);
        continue;
      }
      const lo = this.classChar();
      let hi = lo;
      if (this.peek() === 0x2d && this.pos + 1 < this.src.length && this.peek(1) !== 0x5d) {
        this.pos++;
        hi = this.classChar();
        if (hi < lo) throw new Re2SyntaxError('invalid character class range');
      }
      ranges.push(lo, hi);
    }
    return { t: 'class', ranges: normalize(ranges), props, negated, fold };
  }

  private classChar(): number {
    if (this.peek() === 0x5c) return this.escapedChar();
    return this.nextCodePoint();
  }
}

// Parses an RE2 pattern; throws Re2SyntaxError where RE2 would reject it.
export function parseRe2(pattern: string, caseInsensitive = false): Node {
  return new Parser(pattern, { i: caseInsensitive, m: false, s: false, U: false }).parse();
}
