// Helpers for the wave-engine e2e tests (issue 4): an approved CR, polling the API until a condition holds.
import { bearer, TestApp } from './test-app';
import { approveCr, CrBody, crBody, createCr, submitCr } from './factories';

/** Creates, submits and approves a CR (as many distinct checkers as it needs). */
export async function approvedCr(
  t: TestApp,
  maker: string,
  checkers: string[],
  body: CrBody,
): Promise<{ id: string; planHash: string; requiredApprovals: number }> {
  const cr = await createCr(t, maker, crBody(body));
  await submitCr(t, maker, cr.id);
  for (let i = 0; i < cr.requiredApprovals; i++) await approveCr(t, checkers[i], cr);
  return cr;
}

export async function execute(t: TestApp, token: string, id: string): Promise<void> {
  const res = await t.http().post(`/api/change-requests/${id}/execute`).set(bearer(token));
  if (res.status !== 200 && res.status !== 202)
    throw new Error(`execute failed: ${res.status} ${JSON.stringify(res.body)}`);
}

export interface Progress {
  status: string;
  statusReason: string | null;
  progress: Record<string, number>;
  waves: { index: number; status: string; counts: Record<string, number> }[];
  haltReason?: string;
}

export async function progress(t: TestApp, token: string, id: string): Promise<Progress> {
  const res = await t.http().get(`/api/change-requests/${id}/progress`).set(bearer(token));
  if (res.status !== 200) throw new Error(`progress failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Progress;
}

/** Polls until `until` holds (or throws after `ms`, showing the last progress). */
export async function waitFor(
  t: TestApp,
  token: string,
  id: string,
  until: (p: Progress) => boolean,
  ms = 20_000,
): Promise<Progress> {
  const deadline = Date.now() + ms;
  let last: Progress | undefined;
  while (Date.now() < deadline) {
    last = await progress(t, token, id);
    if (until(last)) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out; last progress ${JSON.stringify(last).slice(0, 2000)}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
