// Semantic versions as the `semver` package (strict mode) reads and orders them, which is what the Unleash
// node SDK uses for SEMVER_* constraints: surrounding whitespace is trimmed, a leading `v` is accepted,
// build metadata is ignored, pre-release identifiers compare numerically when numeric.
// Constraint values are parsed once in compile(); context values are compared in place, without allocating.

export interface ParsedSemver {
  major: number;
  minor: number;
  patch: number;
  // Numeric identifiers as numbers, others as strings.
  prerelease: readonly (string | number)[];
}

const MAX_LENGTH = 256;

function isWhitespace(c: number): boolean {
  // The characters String.prototype.trim removes.
  return (
    c === 0x20 ||
    (c >= 0x09 && c <= 0x0d) ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isIdentifierChar(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d;
}

// Scanner state, shared to keep the hot path free of allocations (evaluation is synchronous).
let scanPos = 0;
let scanMajor = 0;
let scanMinor = 0;
let scanPatch = 0;
let scanPreStart = -1;
let scanPreEnd = -1;

// Reads a numeric core identifier at scanPos; -1 when there is none or it is not a valid one.
function readCoreNumber(s: string, end: number): number {
  const start = scanPos;
  if (start >= end || !isDigit(s.charCodeAt(start))) return -1;
  if (s.charCodeAt(start) === 0x30) {
    scanPos = start + 1;
    return 0;
  }
  let value = 0;
  let i = start;
  while (i < end && isDigit(s.charCodeAt(i))) {
    value = value * 10 + (s.charCodeAt(i) - 0x30);
    i++;
  }
  scanPos = i;
  return value > Number.MAX_SAFE_INTEGER ? -1 : value;
}

// Validates a dot-separated identifier list at scanPos and moves past it; numeric identifiers must not
// have leading zeros when `noLeadingZeros` (pre-release, not build metadata).
function scanIdentifiers(s: string, end: number, noLeadingZeros: boolean): boolean {
  let i = scanPos;
  let idStart = i;
  let allDigits = true;
  for (;;) {
    const c = i < end ? s.charCodeAt(i) : -1;
    if (c !== -1 && isIdentifierChar(c)) {
      if (!isDigit(c)) allDigits = false;
      i++;
      continue;
    }
    if (i === idStart) return false;
    if (noLeadingZeros && allDigits && i - idStart > 1 && s.charCodeAt(idStart) === 0x30) return false;
    if (c !== 0x2e) break;
    i++;
    idStart = i;
    allDigits = true;
  }
  scanPos = i;
  return true;
}

// Scans a version into the scanner state; false when it is not valid semver.
function scan(s: string): boolean {
  if (s.length > MAX_LENGTH) return false;
  let start = 0;
  let end = s.length;
  while (start < end && isWhitespace(s.charCodeAt(start))) start++;
  while (end > start && isWhitespace(s.charCodeAt(end - 1))) end--;
  if (start < end && s.charCodeAt(start) === 0x76) start++;
  scanPos = start;
  scanMajor = readCoreNumber(s, end);
  if (scanMajor < 0 || s.charCodeAt(scanPos) !== 0x2e) return false;
  scanPos++;
  scanMinor = readCoreNumber(s, end);
  if (scanMinor < 0 || s.charCodeAt(scanPos) !== 0x2e) return false;
  scanPos++;
  scanPatch = readCoreNumber(s, end);
  if (scanPatch < 0) return false;
  scanPreStart = -1;
  scanPreEnd = -1;
  if (scanPos < end && s.charCodeAt(scanPos) === 0x2d) {
    scanPos++;
    scanPreStart = scanPos;
    if (!scanIdentifiers(s, end, true)) return false;
    scanPreEnd = scanPos;
  }
  if (scanPos < end && s.charCodeAt(scanPos) === 0x2b) {
    scanPos++;
    if (!scanIdentifiers(s, end, false)) return false;
  }
  return scanPos === end;
}

export function parseSemver(input: string): ParsedSemver | undefined {
  if (!scan(input)) return undefined;
  const prerelease: (string | number)[] = [];
  if (scanPreStart >= 0) {
    for (const id of input.slice(scanPreStart, scanPreEnd).split('.')) {
      prerelease.push(/^[0-9]+$/.test(id) ? Number(id) : id);
    }
  }
  return { major: scanMajor, minor: scanMinor, patch: scanPatch, prerelease };
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

export function compareSemver(a: ParsedSemver, b: ParsedSemver): number {
  const main = sign(a.major - b.major) || sign(a.minor - b.minor) || sign(a.patch - b.patch);
  if (main !== 0) return main;
  const ap = a.prerelease;
  const bp = b.prerelease;
  if (ap.length === 0 || bp.length === 0) return ap.length === bp.length ? 0 : ap.length === 0 ? 1 : -1;
  for (let i = 0; ; i++) {
    if (i >= ap.length || i >= bp.length) return ap.length === bp.length ? 0 : i >= ap.length ? -1 : 1;
    const x = ap[i];
    const y = bp[i];
    if (x === y) continue;
    if (typeof x === 'number') return typeof y === 'number' ? sign(x - y) : -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
}

// Orders `input` against `target` (-1, 0, 1), or NaN when `input` is not a valid version.
export function compareSemverString(input: string, target: ParsedSemver): number {
  if (!scan(input)) return NaN;
  const main =
    sign(scanMajor - target.major) || sign(scanMinor - target.minor) || sign(scanPatch - target.patch);
  if (main !== 0) return main;
  const tp = target.prerelease;
  if (scanPreStart < 0 || tp.length === 0) {
    const inputHasPre = scanPreStart >= 0;
    return inputHasPre === tp.length > 0 ? 0 : inputHasPre ? -1 : 1;
  }
  const preEnd = scanPreEnd;
  let idStart = scanPreStart;
  for (let i = 0; ; i++) {
    if (idStart > preEnd) return i >= tp.length ? 0 : -1;
    if (i >= tp.length) return 1;
    let idEnd = input.indexOf('.', idStart);
    if (idEnd < 0 || idEnd > preEnd) idEnd = preEnd;
    const cmp = compareIdentifier(input, idStart, idEnd, tp[i]);
    if (cmp !== 0) return cmp;
    idStart = idEnd + 1;
  }
}

function compareIdentifier(s: string, start: number, end: number, target: string | number): number {
  let numeric = true;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) {
      numeric = false;
      break;
    }
    value = value * 10 + (c - 0x30);
  }
  if (numeric) return typeof target === 'number' ? sign(value - target) : -1;
  if (typeof target === 'number') return 1;
  // Code-unit order, as JavaScript's `<` on strings.
  const len = end - start;
  const n = Math.min(len, target.length);
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(start + i) - target.charCodeAt(i);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return sign(len - target.length);
}
