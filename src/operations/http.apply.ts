// The `http` operation's call (issue 4): for each target, a POST (or the CR's method) to the URL in the CR's params,
// with the target and the CR in the body, an Idempotency-Key header and an HMAC-SHA256 signature. It runs OUTSIDE
// any database transaction (a network call must not hold the SQLite writer or a PostgreSQL transaction open): the
// engine marks the target running, calls, then records the outcome. After a crash between the two, the call is
// repeated with the same Idempotency-Key, so the downstream service applies it once.
import { createHmac } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { unprocessable } from '../common/errors';
import { HttpAllowlistEntity } from './http-allowlist.entity';
import type { ExternalExecutor, PlannedTarget } from './operation.types';

export interface HttpParams {
  url: string;
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: Record<string, unknown>;
}

export const HTTP_TIMEOUT_MS = 10_000;
export const HTTP_ATTEMPTS = 3;

export interface HttpCallInput {
  target: PlannedTarget;
  params: HttpParams;
  changeRequestId: string;
  revision: number;
  idempotencyKey: string;
  /** HMAC key (derived from WAVEGATE_SECRET for this purpose). */
  key: Buffer;
  now: () => Date;
  timeoutMs?: number;
  attempts?: number;
  /** Waits between attempts (ms); tests shorten them. */
  backoffMs?: number[];
}

/** `X-Wavegate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` */
export function signHttpBody(key: Buffer, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;
}

export async function assertAllowed(m: EntityManager, url: string): Promise<void> {
  const prefixes = (await m.find(HttpAllowlistEntity)).map((r) => r.prefix);
  if (!prefixes.some((p) => url.startsWith(p))) {
    throw unprocessable(
      'HTTP_OPERATION.NOT_ALLOWED',
      `${url} is not in the http operation's allowlist; an admin must add its prefix first`,
    );
  }
}

/** Calls once per attempt; resolves on a 2xx, throws with the last status or error after the last attempt. */
export async function callHttpTarget(input: HttpCallInput): Promise<{ status: number; attempts: number }> {
  const body = JSON.stringify({
    changeRequestId: input.changeRequestId,
    revision: input.revision,
    idempotencyKey: input.idempotencyKey,
    target: {
      type: input.target.type,
      id: input.target.id,
      tenantId: input.target.tenantId,
      name: input.target.name,
      tier: input.target.tier,
    },
    ...(input.params.body ? { body: input.params.body } : {}),
  });
  const attempts = input.attempts ?? HTTP_ATTEMPTS;
  const backoff = input.backoffMs ?? [500, 2000];
  let last = '';
  for (let i = 1; i <= attempts; i++) {
    const ts = Math.floor(input.now().getTime() / 1000);
    try {
      const res = await fetch(input.params.url, {
        method: input.params.method,
        headers: {
          'content-type': 'application/json',
          'idempotency-key': input.idempotencyKey,
          'x-wavegate-signature': signHttpBody(input.key, ts, body),
          'user-agent': 'wavegate-http-operation/1',
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(input.timeoutMs ?? HTTP_TIMEOUT_MS),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { status: res.status, attempts: i };
      last = `HTTP ${res.status}`;
    } catch (e) {
      last =
        e instanceof Error && e.name === 'TimeoutError'
          ? `timed out after ${input.timeoutMs ?? HTTP_TIMEOUT_MS} ms`
          : String((e as Error).message ?? e);
    }
    if (i < attempts) await new Promise((r) => setTimeout(r, backoff[Math.min(i - 1, backoff.length - 1)]));
  }
  throw new Error(`${input.params.method} ${input.params.url} failed after ${attempts} attempt(s): ${last}`);
}

/** The `http` operation as the engine runs it: check the allowlist, then call (no undo: see `httpOperation.risk`). */
export const httpExternal: ExternalExecutor<HttpParams> = {
  async apply(target, ctx) {
    await ctx.read((m) => assertAllowed(m, ctx.params.url));
    await callHttpTarget({
      target,
      params: ctx.params,
      changeRequestId: ctx.changeRequestId,
      revision: ctx.revision,
      idempotencyKey: ctx.idempotencyKey,
      key: ctx.signingKey('http-operation'),
      now: () => ctx.now(),
      timeoutMs: ctx.timeoutMs,
      backoffMs: ctx.backoffMs,
    });
  },
};
