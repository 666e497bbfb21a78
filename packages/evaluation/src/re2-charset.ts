// Sets of code points as the RE2 parser and program use them: sorted [lo, hi] pairs (normalize, complement), the
// Perl and POSIX classes, the Unicode general categories RE2 knows, and case folding (orbitOf, foldRanges), whose
// orbits are built on first use from the runtime's own case mappings.
export const MAX_CP = 0x10ffff;

export const PERL_CLASSES: Record<string, number[]> = {
  d: [0x30, 0x39],
  s: [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20],
  w: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a],
};

export const POSIX_CLASSES: Record<string, number[]> = {
  alnum: [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a],
  alpha: [0x41, 0x5a, 0x61, 0x7a],
  ascii: [0x00, 0x7f],
  blank: [0x09, 0x09, 0x20, 0x20],
  cntrl: [0x00, 0x1f, 0x7f, 0x7f],
  digit: [0x30, 0x39],
  graph: [0x21, 0x7e],
  lower: [0x61, 0x7a],
  print: [0x20, 0x7e],
  punct: [0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e],
  space: [0x09, 0x0d, 0x20, 0x20],
  upper: [0x41, 0x5a],
  word: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a],
  xdigit: [0x30, 0x39, 0x41, 0x46, 0x61, 0x66],
};

// Unicode general categories RE2 knows; any other \p{Name} is a script.
export const GENERAL_CATEGORIES = new Set(
  'C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(
    ' ',
  ),
);

export function complement(ranges: number[]): number[] {
  const sorted = normalize(ranges);
  const out: number[] = [];
  let next = 0;
  for (let k = 0; k < sorted.length; k += 2) {
    if (sorted[k] > next) out.push(next, sorted[k] - 1);
    next = sorted[k + 1] + 1;
  }
  if (next <= MAX_CP) out.push(next, MAX_CP);
  return out;
}

// Sorted, merged [lo, hi] pairs.
export function normalize(ranges: number[]): number[] {
  const pairs: [number, number][] = [];
  for (let k = 0; k < ranges.length; k += 2) pairs.push([ranges[k], ranges[k + 1]]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const last = out.length - 1;
    if (last > 0 && lo <= out[last] + 1) out[last] = Math.max(out[last], hi);
    else out.push(lo, hi);
  }
  return out;
}

// Case-fold orbits (code points that match each other case-insensitively), built on first use from the
// runtime's own case mappings; needed only when (?i) covers part of a pattern.
let foldOrbits: Map<number, number[]> | undefined;

export function orbitOf(cp: number): number[] {
  if (foldOrbits === undefined) {
    const parent = new Map<number, number>();
    const find = (x: number): number => {
      let r = x;
      while (parent.has(r) && parent.get(r) !== r) r = parent.get(r) as number;
      parent.set(x, r);
      return r;
    };
    const union = (a: number, b: number): void => {
      const ra = find(a);
      const rb = find(b);
      if (ra !== rb) parent.set(ra, rb);
    };
    const single = (s: string): number => {
      const c = s.codePointAt(0) as number;
      return s.length === (c > 0xffff ? 2 : 1) ? c : -1;
    };
    for (let c = 0; c <= 0x1ffff; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const ch = String.fromCodePoint(c);
      const up = single(ch.toUpperCase());
      const low = single(ch.toLowerCase());
      if (up >= 0 && up !== c) union(c, up);
      if (low >= 0 && low !== c) union(c, low);
    }
    const groups = new Map<number, number[]>();
    for (const c of parent.keys()) {
      const r = find(c);
      const g = groups.get(r) ?? [];
      if (!g.includes(c)) g.push(c);
      if (!g.includes(r)) g.push(r);
      groups.set(r, g);
    }
    foldOrbits = new Map();
    for (const g of groups.values()) for (const c of g) foldOrbits.set(c, g);
  }
  return foldOrbits.get(cp) ?? [cp];
}

// Adds the case variants of every code point in the ranges (large non-letter blocks are left as they are).
export function foldRanges(ranges: number[]): number[] {
  const out = ranges.slice();
  let budget = 0x3000;
  for (let k = 0; k < ranges.length; k += 2) {
    const lo = ranges[k];
    const hi = ranges[k + 1];
    if (hi - lo > budget) continue;
    budget -= hi - lo;
    for (let c = lo; c <= hi; c++) for (const f of orbitOf(c)) if (f !== c) out.push(f, f);
  }
  return normalize(out);
}
