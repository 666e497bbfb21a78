import { BlockList, isIP } from 'node:net';

// Where deliveries may go (issue 8, security). Pure: the caller resolves the host and passes the addresses, so the
// same decision is taken at creation and again at send time on the addresses the socket will actually connect to
// (a DNS answer that changes between the two cannot reach an internal service). See docs/decisions/0003.

export interface Allowlist {
  /** Exact host names, or `*.example.com` for its subdomains. Allowed whatever they resolve to. */
  hosts: string[];
  /** CIDR networks (`127.0.0.1/32`, `10.20.0.0/16`, `fd00::/8`) whose addresses are allowed. */
  networks: string[];
  /** Whether public addresses not on the lists are allowed. Loopback/private/link-local never are unless listed. */
  allowPublic: boolean;
}

export const DEFAULT_ALLOWLIST: Allowlist = { hosts: [], networks: [], allowPublic: true };

export type Verdict = { allowed: true } | { allowed: false; reason: string };

type Family = 'ipv4' | 'ipv6';

// Special-purpose ranges (RFC 6890 and friends) a webhook must not reach unless an admin lists them.
const DENIED: Array<[string, number, Family, string]> = [
  ['0.0.0.0', 8, 'ipv4', 'this-network'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'shared (CGNAT)'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignments'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['::ffff:0:0', 96, 'ipv6', 'IPv4-mapped'],
  ['64:ff9b::', 96, 'ipv6', 'NAT64'],
  ['2002::', 16, 'ipv6', '6to4'],
  ['fc00::', 7, 'ipv6', 'unique-local'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

const DENIED_LISTS = DENIED.map(([net, prefix, family, label]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  return { list, family, label };
});

/** `::ffff:127.0.0.1` and `::ffff:7f00:1` are IPv4 addresses in disguise: judge them as IPv4. */
export function normalizeAddress(address: string): { address: string; family: Family } | null {
  let a = address.trim().toLowerCase();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const v = isIP(a);
  if (v === 4) return { address: a, family: 'ipv4' };
  if (v !== 6) return null;
  if (a.startsWith('::ffff:')) {
    const rest = a.slice('::ffff:'.length);
    if (isIP(rest) === 4) return { address: rest, family: 'ipv4' };
    const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(rest);
    if (hex) {
      const hi = parseInt(hex[1], 16);
      const lo = parseInt(hex[2], 16);
      return { address: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, family: 'ipv4' };
    }
  }
  return { address: a, family: 'ipv6' };
}

/** The special-purpose range an address is in, or null for a public address. */
export function specialRange(address: string): string | null {
  const n = normalizeAddress(address);
  if (!n) return 'not an IP address';
  for (const d of DENIED_LISTS)
    if (d.family === n.family && d.list.check(n.address, n.family)) return d.label;
  return null;
}

/** Parses `addr/prefix` (or a bare address, meaning /32 or /128); null when invalid. */
export function parseNetwork(cidr: string): { address: string; prefix: number; family: Family } | null {
  const [addr, p, extra] = cidr.trim().split('/');
  if (extra !== undefined) return null;
  const v = isIP(addr);
  if (v === 0) return null;
  const family: Family = v === 4 ? 'ipv4' : 'ipv6';
  const max = v === 4 ? 32 : 128;
  if (p !== undefined && !/^\d{1,3}$/.test(p)) return null;
  const prefix = p === undefined ? max : Number(p);
  if (prefix > max) return null;
  return { address: addr.toLowerCase(), prefix, family };
}

const HOST_RE = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function isValidHostPattern(host: string): boolean {
  return host.length <= 253 && HOST_RE.test(host);
}

/** URL host as the policy compares it: lower case, no brackets, no trailing dot. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  return h.replace(/\.$/, '');
}

export function hostListed(allowlist: Allowlist, host: string): boolean {
  const h = normalizeHost(host);
  return allowlist.hosts.some((entry) => {
    const e = entry.toLowerCase();
    return e.startsWith('*.') ? h.endsWith(e.slice(1)) && h.length > e.length - 1 : h === e;
  });
}

export class DestinationPolicy {
  private readonly networks = new BlockList();

  constructor(readonly allowlist: Allowlist) {
    for (const n of allowlist.networks) {
      const p = parseNetwork(n);
      if (p) this.networks.addSubnet(p.address, p.prefix, p.family);
    }
  }

  /** Decides on a host and every address it resolves to; all must be allowed (one bad answer refuses). */
  check(host: string, addresses: string[]): Verdict {
    if (hostListed(this.allowlist, host)) return { allowed: true };
    if (addresses.length === 0)
      return { allowed: false, reason: `host ${normalizeHost(host)} did not resolve` };
    for (const raw of addresses) {
      const v = this.checkAddress(raw);
      if (!v.allowed) {
        const h = normalizeHost(host);
        const via = normalizeAddress(raw)?.address === h ? '' : ` (${h} resolves to it)`;
        return { allowed: false, reason: `${v.reason}${via}` };
      }
    }
    return { allowed: true };
  }

  checkAddress(raw: string): Verdict {
    const n = normalizeAddress(raw);
    if (!n) return { allowed: false, reason: `${raw} is not an IP address` };
    // An IPv4-mapped address is listed as IPv4 ("127.0.0.1/32") but may also be listed in its IPv6 form.
    const rawV6 = raw
      .trim()
      .toLowerCase()
      .replace(/^\[|\]$/g, '');
    if (
      this.networks.check(n.address, n.family) ||
      (isIP(rawV6) === 6 && this.networks.check(rawV6, 'ipv6'))
    ) {
      return { allowed: true };
    }
    const special = specialRange(n.address);
    if (special) {
      return {
        allowed: false,
        reason: `${n.address} is a ${special} address, which is not on the webhook allowlist`,
      };
    }
    if (!this.allowlist.allowPublic) {
      return {
        allowed: false,
        reason: `${n.address} is not on the webhook allowlist (public hosts are not allowed)`,
      };
    }
    return { allowed: true };
  }
}
