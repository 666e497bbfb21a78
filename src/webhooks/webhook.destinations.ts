// Where a webhook may deliver: a subscription's URL checked when it is created or changed (http(s), no credentials,
// a destination the allowlist allows, resolved now and again at every send), and an admin's allowlist checked field
// by field (422 naming hosts[i] or networks[i]).
import { EntityManager } from 'typeorm';
import { unprocessable } from '../common/errors';
import {
  DestinationPolicy,
  isValidHostPattern,
  normalizeHost,
  parseNetwork,
} from './domain/destination.policy';
import { loadAllowlist } from './webhook.allowlist.store';
import { resolveDestination } from './webhook.sender';

/** http(s), no credentials, and a destination the allowlist allows (resolved now; again at every send). */
export async function checkWebhookUrl(manager: EntityManager, raw: string): Promise<string> {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw unprocessable('WEBHOOK.URL_INVALID', 'url: not a valid URL', [
      { field: 'url', reason: 'not a valid URL' },
    ]);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw unprocessable('WEBHOOK.URL_INVALID', 'url: must be an http or https URL', [
      { field: 'url', reason: 'must be http(s)' },
    ]);
  }
  if (u.username || u.password) {
    throw unprocessable('WEBHOOK.URL_INVALID', 'url: must not contain credentials; use the signing secret', [
      { field: 'url', reason: 'must not contain user:password' },
    ]);
  }
  const allowlist = await loadAllowlist(manager);
  const dest = await resolveDestination(u.hostname, new DestinationPolicy(allowlist));
  // A host that does not resolve yet is accepted when public hosts are: it is checked again at every send.
  const unresolved = !dest.allowed && dest.reason?.startsWith('could not resolve');
  if (!dest.allowed && !(unresolved && allowlist.allowPublic)) {
    const reason = `${dest.reason}; an admin can allow it with PUT /api/webhooks/allowlist`;
    throw unprocessable('WEBHOOK.DESTINATION_NOT_ALLOWED', `url: ${reason}`, [
      { field: 'url', reason: dest.reason ?? 'not allowed' },
    ]);
  }
  return u.toString();
}

/** The allowlist's hosts and networks, normalised; 422 WEBHOOK.ALLOWLIST_INVALID naming each bad entry. */
export function parseAllowlistInput(input: { hosts: string[]; networks: string[] }): {
  hosts: string[];
  networks: string[];
} {
  const details: Array<{ field: string; reason: string }> = [];
  const hosts = input.hosts.map((h, i) => {
    const n = normalizeHost(h);
    if (!isValidHostPattern(n))
      details.push({ field: `hosts[${i}]`, reason: 'not a host name or *.domain pattern' });
    return n;
  });
  const networks = input.networks.map((c, i) => {
    const p = parseNetwork(c);
    if (!p)
      details.push({
        field: `networks[${i}]`,
        reason: 'not a CIDR network such as 10.0.0.0/8 or fd00::/8',
      });
    return p ? `${p.address}/${p.prefix}` : c;
  });
  if (details.length > 0) {
    throw unprocessable(
      'WEBHOOK.ALLOWLIST_INVALID',
      details.map((d) => `${d.field}: ${d.reason}`).join('; '),
      details,
    );
  }
  return { hosts, networks };
}
