import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { DestinationPolicy, normalizeHost } from './domain/destination.policy';

export const TIMEOUT_MS = 5_000;
export const MAX_RESPONSE_BYTES = 1024;

export interface SendResult {
  /** null when no HTTP answer arrived (refused, timeout, DNS, destination not allowed). */
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  /** At most 1 KiB. */
  responseBody: string | null;
  /** The destination policy refused it; nothing was sent. */
  refused: boolean;
}

export interface ResolvedDestination {
  allowed: boolean;
  reason?: string;
  /** The address to connect to (checked), when allowed. */
  address?: string;
  family?: 4 | 6;
}

/** Resolves a host and applies the policy to every address it resolves to. */
export async function resolveDestination(
  host: string,
  policy: DestinationPolicy,
): Promise<ResolvedDestination> {
  const h = normalizeHost(host);
  let addresses: Array<{ address: string; family: number }>;
  if (isIP(h)) addresses = [{ address: h, family: isIP(h) }];
  else {
    try {
      addresses = await dnsLookup(h, { all: true, verbatim: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      // A listed host may still be tried; anything else cannot be judged without an address.
      return { allowed: false, reason: `could not resolve ${h} (${code})` };
    }
  }
  const verdict = policy.check(
    h,
    addresses.map((a) => a.address),
  );
  if (!verdict.allowed) return { allowed: false, reason: verdict.reason };
  const first = addresses[0];
  return { allowed: true, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/**
 * One POST with Node's own http(s) client (no dependency): the socket connects to the address the policy just
 * checked (pinned through `lookup`, so a second DNS answer cannot redirect it), no redirects are followed, the whole
 * exchange is cut at 5 s, and at most 1 KiB of the answer is read.
 */
export async function send(
  url: string,
  headers: Record<string, string>,
  body: string,
  policy: DestinationPolicy,
  timeoutMs = TIMEOUT_MS,
): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const u = new URL(url);
  const dest = await resolveDestination(u.hostname, policy);
  if (!dest.allowed || !dest.address) {
    return {
      statusCode: null,
      latencyMs: elapsed(),
      error: `destination refused: ${dest.reason}`,
      responseBody: null,
      refused: true,
    };
  }
  const pinned: LookupFunction = (_host, opts, cb) => {
    const all = (opts as { all?: boolean }).all;
    if (all)
      (cb as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
        { address: dest.address!, family: dest.family! },
      ]);
    else cb(null, dest.address!, dest.family!);
  };
  const payload = Buffer.from(body, 'utf8');
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (r: Omit<SendResult, 'latencyMs' | 'refused'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, latencyMs: elapsed(), refused: false });
    };
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      {
        method: 'POST',
        lookup: pinned,
        agent: false,
        headers: { ...headers, 'Content-Length': String(payload.length) },
        // SNI and certificate checks still use the URL's host name.
        servername: isIP(u.hostname) ? undefined : u.hostname,
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () =>
          finish({
            statusCode: res.statusCode ?? null,
            error: null,
            responseBody: Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString('utf8'),
          });
        res.on('data', (c: Buffer) => {
          if (size >= MAX_RESPONSE_BYTES) return;
          chunks.push(c);
          size += c.length;
          // Enough read: the rest of a large answer is not ours to store (or wait for).
          if (size >= MAX_RESPONSE_BYTES) {
            done();
            res.destroy();
          }
        });
        res.on('end', done);
        res.on('error', done);
        res.on('close', done);
      },
    );
    const timer = setTimeout(() => {
      finish({ statusCode: null, error: `timeout after ${timeoutMs} ms`, responseBody: null });
      req.destroy();
    }, timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => {
      finish({
        statusCode: null,
        error: `${e.code ?? 'error'}: ${e.message}`.slice(0, 500),
        responseBody: null,
      });
    });
    req.end(payload);
  });
}
