// Shared factories for tenants, apps and change requests (issue 3). Everything goes through the HTTP API, as a
// user would; nothing writes to the database behind the app's back.
import { bearer, TestApp } from './test-app';

export interface AppSpec {
  key: string;
  name?: string;
  legacy?: boolean;
}

/** The outage's catalogue: two live apps and the legacy one being retired. */
export const OUTAGE_APPS: AppSpec[] = [
  { key: 'jira', name: 'Jira' },
  { key: 'confluence', name: 'Confluence' },
  { key: 'insight', name: 'Insight', legacy: true },
];

export async function createApps(
  t: TestApp,
  apps: AppSpec[] = OUTAGE_APPS,
  token = t.adminToken,
): Promise<void> {
  for (const a of apps) {
    const res = await t
      .http()
      .post('/api/apps')
      .set(bearer(token))
      .send({ key: a.key, name: a.name ?? a.key, legacy: a.legacy ?? false });
    if (res.status !== 201 && !(res.status === 409 && res.body.code === 'APP.KEY_TAKEN')) {
      throw new Error(`app create failed: ${res.status} ${JSON.stringify(res.body)}`);
    }
  }
}

export interface TenantRowOptions {
  /** Id prefix; ids are `<prefix><n>` zero-padded to 5 digits. */
  prefix?: string;
  apps?: string[];
  /** Tier of the i-th tenant (0-based). Default: the first 5 internal, every 10th key, the rest standard. */
  tier?: (i: number) => 'internal' | 'standard' | 'key';
  region?: (i: number) => string;
  start?: number;
}

export const defaultTier = (i: number): 'internal' | 'standard' | 'key' =>
  i < 5 ? 'internal' : i % 10 === 9 ? 'key' : 'standard';

export function tenantRows(n: number, o: TenantRowOptions = {}) {
  const prefix = o.prefix ?? 't';
  const apps = o.apps ?? OUTAGE_APPS.map((a) => a.key);
  return Array.from({ length: n }, (_, k) => {
    const i = k + (o.start ?? 0);
    return {
      id: `${prefix}${String(i).padStart(5, '0')}`,
      name: `Tenant ${i}`,
      tier: (o.tier ?? defaultTier)(i),
      region: (o.region ?? ((j: number) => (j % 2 === 0 ? 'eu' : 'us')))(i),
      attributes: { plan: i % 3 === 0 ? 'enterprise' : 'team' },
      installations: apps.map((appKey) => ({ appKey })),
    };
  });
}

/** Imports n tenants (in batches that fit the 1 MiB body limit) and returns their ids in order. */
export async function importTenants(
  t: TestApp,
  n: number,
  o: TenantRowOptions = {},
  token = t.adminToken,
): Promise<string[]> {
  const rows = tenantRows(n, o);
  for (let i = 0; i < rows.length; i += 2000) {
    const res = await t
      .http()
      .post('/api/tenants')
      .set(bearer(token))
      .send({ tenants: rows.slice(i, i + 2000) });
    if (res.status !== 201)
      throw new Error(`import failed: ${res.status} ${JSON.stringify(res.body).slice(0, 2000)}`);
  }
  return rows.map((r) => r.id);
}

export interface Actors {
  maker: { token: string; id: string };
  maker2: { token: string; id: string };
  checker1: { token: string; id: string };
  checker2: { token: string; id: string };
  checker3: { token: string; id: string };
  viewer: { token: string; id: string };
  admin: { token: string; id: string };
}

/** One person per role the lifecycle distinguishes. */
export async function createActors(t: TestApp): Promise<Actors> {
  return {
    maker: await t.userToken(['maker']),
    maker2: await t.userToken(['maker']),
    checker1: await t.userToken(['checker']),
    checker2: await t.userToken(['checker']),
    checker3: await t.userToken(['checker']),
    viewer: await t.userToken(['viewer']),
    admin: await t.userToken(['admin']),
  };
}

/** An API token of the given kind (its secret); a client token is bound to `environment`. */
export async function apiToken(
  t: TestApp,
  kind: 'admin' | 'automation' | 'client',
  environment = 'production',
): Promise<string> {
  const res = await t
    .http()
    .post('/api/tokens')
    .set(bearer(t.adminToken))
    .send({
      name: kind === 'client' ? `${environment}-client-token` : `${kind}-token`,
      kind,
      ...(kind === 'client' ? { environment } : {}),
    });
  if (res.status !== 201) throw new Error(`token create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token as string;
}

/** Creates flags (POST /api/flags), each with the given configuration in `environment`. */
export async function createFlags(
  t: TestApp,
  token: string,
  environment: string,
  flags: Record<string, Record<string, unknown>>,
): Promise<void> {
  for (const [key, config] of Object.entries(flags)) {
    const res = await t
      .http()
      .post('/api/flags')
      .set(bearer(token))
      .send({ key, environments: { [environment]: config } });
    if (res.status !== 201) throw new Error(`${key}: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

export interface CrBody {
  title?: string;
  operation?: string;
  params?: Record<string, unknown>;
  targets?: { type: string; id: string }[];
  selector?: Record<string, unknown>;
  waves?: Record<string, unknown>;
  haltPolicy?: Record<string, unknown>;
  justification?: string;
  ticket?: string;
  scheduledAt?: string;
}

export const crBody = (o: CrBody = {}): CrBody => ({
  title: 'Retire insight',
  operation: 'installation.deactivate',
  justification: 'Insight is end-of-life',
  ...o,
});

export const installations = (tenantIds: string[], appKey: string) =>
  tenantIds.map((id) => ({ type: 'installation', id: `${id}/${appKey}` }));

export interface CrView {
  id: string;
  status: string;
  revision: number;
  planHash: string;
  requiredApprovals: number;
  approvals: { userId: string; planHash: string }[];
  plan: {
    operation: string;
    mode: string;
    summary: Record<string, unknown> & { targetCount: number; byTier: Record<string, number> };
    waves: {
      index: number;
      targets: { type: string; id: string; name: string; tier: string; state: string; action: string }[];
    }[];
  };
  [k: string]: unknown;
}

export async function createCr(t: TestApp, token: string, body: CrBody): Promise<CrView> {
  const res = await t.http().post('/api/change-requests').set(bearer(token)).send(body);
  if (res.status !== 201)
    throw new Error(`CR create failed: ${res.status} ${JSON.stringify(res.body).slice(0, 2000)}`);
  return res.body as CrView;
}

export async function submitCr(t: TestApp, token: string, id: string): Promise<CrView> {
  const res = await t.http().post(`/api/change-requests/${id}/submit`).set(bearer(token));
  if (res.status !== 200) throw new Error(`CR submit failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as CrView;
}

export async function approveCr(
  t: TestApp,
  token: string,
  cr: { id: string; planHash: string },
): Promise<CrView> {
  const res = await t
    .http()
    .post(`/api/change-requests/${cr.id}/approve`)
    .set(bearer(token))
    .send({ planHash: cr.planHash });
  if (res.status !== 200) throw new Error(`CR approve failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as CrView;
}

/** A submitted (pending) CR written by `makerToken`. */
export async function pendingCr(t: TestApp, makerToken: string, body: CrBody): Promise<CrView> {
  const cr = await createCr(t, makerToken, body);
  return submitCr(t, makerToken, cr.id);
}
