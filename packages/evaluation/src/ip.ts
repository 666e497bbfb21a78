// IPv4 and IPv6 addresses and CIDR ranges, read as the Unleash node SDK reads them (the `ip-address`
// package): dotted quads without leading zeros, RFC 4291 text for IPv6 (with `::`, an IPv4 tail, a zone),
// an optional `/prefix`. An address is a range of full length. Ranges are parsed once in compile();
// context addresses are parsed into reusable scratch space.

export interface CidrRange {
  family: 4 | 6;
  prefix: number;
  // IPv4: one unsigned 32-bit word; IPv6: eight 16-bit groups.
  v4: number;
  v6: Uint16Array;
}

const NO_V6 = new Uint16Array(0);

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

// s[start, end) as an IPv4 address: an unsigned 32-bit number, or -1.
export function parseIPv4(s: string, start = 0, end = s.length): number {
  let value = 0;
  let octets = 0;
  let i = start;
  while (octets < 4) {
    const octetStart = i;
    let octet = 0;
    while (i < end && isDigit(s.charCodeAt(i)) && i - octetStart < 3) {
      octet = octet * 10 + (s.charCodeAt(i) - 0x30);
      i++;
    }
    const len = i - octetStart;
    if (len === 0 || octet > 255 || (len > 1 && s.charCodeAt(octetStart) === 0x30)) return -1;
    value = value * 256 + octet;
    octets++;
    if (octets < 4) {
      if (i >= end || s.charCodeAt(i) !== 0x2e) return -1;
      i++;
    }
  }
  return i === end ? value : -1;
}

// s[start, end) as an IPv6 address into `out` (8 groups); false when it is not one.
export function parseIPv6(s: string, out: Uint16Array, start = 0, end = s.length): boolean {
  const zone = s.indexOf('%', start);
  if (zone >= 0 && zone < end) {
    if (zone === end - 1) return false;
    end = zone;
  }
  if (end - start < 2) return false;
  let groups = 0;
  let gap = -1;
  let i = start;
  if (s.charCodeAt(i) === 0x3a) {
    if (s.charCodeAt(i + 1) !== 0x3a) return false;
    gap = 0;
    i += 2;
    if (i === end) {
      out.fill(0);
      return true;
    }
  }
  while (i < end) {
    if (groups >= 8) return false;
    const groupStart = i;
    let value = 0;
    while (i < end && i - groupStart < 5) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      value = value * 16 + h;
      i++;
    }
    const c = i < end ? s.charCodeAt(i) : -1;
    if (c === 0x2e) {
      // An IPv4 tail takes the last two groups.
      if (groups > 6) return false;
      const v4 = parseIPv4(s, groupStart, end);
      if (v4 < 0) return false;
      out[groups++] = v4 >>> 16;
      out[groups++] = v4 & 0xffff;
      i = end;
      break;
    }
    const len = i - groupStart;
    if (len === 0 || len > 4) return false;
    out[groups++] = value;
    if (i === end) break;
    if (c !== 0x3a) return false;
    i++;
    if (i < end && s.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return false;
      gap = groups;
      i++;
    } else if (i === end) {
      return false;
    }
  }
  if (gap < 0) return groups === 8;
  if (groups > 7) return false;
  // Move the groups after `::` to the end and zero the gap.
  const tail = groups - gap;
  for (let k = 0; k < tail; k++) out[7 - k] = out[groups - 1 - k];
  for (let k = gap; k < 8 - tail; k++) out[k] = 0;
  return true;
}

// A range such as `10.0.0.0/8`, `2001:db8::/32` or a single address; undefined when invalid.
export function parseCidr(text: string): CidrRange | undefined {
  const s = text.trim();
  const slash = s.indexOf('/');
  const addrEnd = slash < 0 ? s.length : slash;
  let prefix = -1;
  if (slash >= 0) {
    const digits = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(digits)) return undefined;
    prefix = Number(digits);
  }
  const v4 = parseIPv4(s, 0, addrEnd);
  if (v4 >= 0) {
    if (prefix > 32 || (slash >= 0 && s.length - slash - 1 > 2)) return undefined;
    return { family: 4, prefix: prefix < 0 ? 32 : prefix, v4, v6: NO_V6 };
  }
  const v6 = new Uint16Array(8);
  if (!parseIPv6(s, v6, 0, addrEnd) || prefix > 128) return undefined;
  return { family: 6, prefix: prefix < 0 ? 128 : prefix, v4: 0, v6 };
}

export function v4InRange(address: number, range: CidrRange): boolean {
  const prefix = range.prefix;
  if (prefix === 0) return true;
  const shift = 32 - prefix;
  return address >>> shift === range.v4 >>> shift;
}

export function v6InRange(address: Uint16Array, range: CidrRange): boolean {
  let bits = range.prefix;
  const groups = range.v6;
  for (let g = 0; bits > 0; g++, bits -= 16) {
    if (bits >= 16) {
      if (address[g] !== groups[g]) return false;
    } else {
      const shift = 16 - bits;
      if (address[g] >>> shift !== groups[g] >>> shift) return false;
    }
  }
  return true;
}

// Compiled list of ranges, with a matcher for a context address that allocates nothing.
export class CidrSet {
  private readonly v4: CidrRange[] = [];
  private readonly v6: CidrRange[] = [];
  private readonly scratch = new Uint16Array(8);

  constructor(ranges: readonly string[]) {
    for (const text of ranges) {
      const range = parseCidr(text);
      if (range === undefined) continue;
      (range.family === 4 ? this.v4 : this.v6).push(range);
    }
  }

  get size(): number {
    return this.v4.length + this.v6.length;
  }

  // An IPv4 address matches IPv4 ranges only, an IPv6 address IPv6 ranges only, like the node SDK.
  contains(address: string): boolean {
    const v4 = parseIPv4(address);
    if (v4 >= 0) {
      for (const range of this.v4) if (v4InRange(v4, range)) return true;
      return false;
    }
    if (this.v6.length === 0 || !parseIPv6(address, this.scratch)) return false;
    for (const range of this.v6) if (v6InRange(this.scratch, range)) return true;
    return false;
  }
}
