// Registering a provider the way an admin does (issue 14): the allowlist, then POST /api/providers, which opens a
// `provider.register` change request; two checkers approve it (it is irreversible), an operator executes it.
// Written against a minimal JSON client so that in-process (supertest) and child-server tests share it.
// Test code reads the JSON loosely, as a person reading the response would.
/* eslint-disable @typescript-eslint/no-explicit-any */
import { bearer, TestApp } from './test-app';

export interface JsonAnswer {
  status: number;
  body: Record<string, any>;
}
export type JsonCall = (method: string, path: string, token: string, body?: unknown) => Promise<JsonAnswer>;

/** A JsonCall through supertest on an in-process app. */
export function inProcess(t: TestApp): JsonCall {
  return async (method, path, token, body) => {
    const r = t.http();
    const req =
      method === 'GET'
        ? r.get(path)
        : method === 'PUT'
          ? r.put(path)
          : method === 'PATCH'
            ? r.patch(path)
            : r.post(path);
    const res = await req.set(bearer(token)).send((body ?? {}) as object);
    return { status: res.status, body: res.body as Record<string, any> };
  };
}

export async function allowDestinations(
  call: JsonCall,
  adminToken: string,
  prefixes: string[],
): Promise<void> {
  const r = await call('PUT', '/api/operations/http/allowlist', adminToken, { prefixes });
  if (r.status !== 200) throw new Error(`allowlist: ${r.status} ${JSON.stringify(r.body)}`);
}

export async function waitForStatus(
  call: JsonCall,
  token: string,
  crId: string,
  statuses: string[],
  ms = 30_000,
): Promise<Record<string, any>> {
  const deadline = Date.now() + ms;
  let last: JsonAnswer | undefined;
  while (Date.now() < deadline) {
    last = await call('GET', `/api/change-requests/${crId}`, token);
    if (statuses.includes(last.body.status as string)) return last.body;
    await new Promise((r) => setTimeout(r, 30));
  }
  throw new Error(
    `CR ${crId} never reached ${statuses.join('|')}: ${JSON.stringify(last?.body).slice(0, 1500)}`,
  );
}

/** Proposes (POST, or PATCH for a change), approves with two checkers and executes; resolves to the provider. */
export async function registerProvider(
  call: JsonCall,
  tokens: { admin: string; checkers: [string, string] },
  provider: Record<string, unknown>,
  edit?: string,
): Promise<Record<string, any>> {
  const r = await call(
    edit ? 'PATCH' : 'POST',
    edit ? `/api/providers/${edit}` : '/api/providers',
    tokens.admin,
    {
      provider,
      justification: 'Wire Wavegate to the platform',
      ticket: 'OPS-14',
    },
  );
  if (r.status !== 202)
    throw new Error(`provider proposal: ${r.status} ${JSON.stringify(r.body).slice(0, 2000)}`);
  const cr = r.body;
  for (const c of tokens.checkers) {
    const a = await call('POST', `/api/change-requests/${cr.id}/approve`, c, { planHash: cr.planHash });
    if (a.status !== 200) throw new Error(`approve: ${a.status} ${JSON.stringify(a.body)}`);
  }
  const x = await call('POST', `/api/change-requests/${cr.id}/execute`, tokens.admin);
  if (x.status !== 200 && x.status !== 202) throw new Error(`execute: ${x.status} ${JSON.stringify(x.body)}`);
  const done = await waitForStatus(call, tokens.admin, cr.id as string, ['completed', 'halted', 'failed']);
  if (done.status !== 'completed')
    throw new Error(`provider CR ${done.status}: ${JSON.stringify(done).slice(0, 2000)}`);
  const name = (provider.name as string | undefined) ?? edit;
  // The registry is reloaded right after the commit; wait until the API serves the new version.
  for (let i = 0; i < 100; i++) {
    const g = await call('GET', `/api/providers/${name}`, tokens.admin);
    if (g.status === 200 && g.body.loadedVersion === g.body.version) return g.body;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`provider ${name} did not appear`);
}
