// Seeds a fresh Wavegate for a first look, through its own REST API (so the demo exercises what users will call):
// 200 tenants across the three tiers with apps (one legacy), people with the maker, checker and admin roles, flags
// in every environment, one change request waiting for approval and one that has run to completion.
import { randomBytes } from 'node:crypto';

export type Call = <T = unknown>(method: string, path: string, body?: unknown, token?: string) => Promise<T>;

export interface DemoUser {
  role: string;
  email: string;
  name: string;
  password: string;
}

export interface DemoSeed {
  users: DemoUser[];
  tenants: number;
  flags: number;
  pendingCr?: string;
  completedCr?: string;
}

const APPS = [
  { key: 'insight', name: 'Insight', legacy: true },
  { key: 'crm', name: 'CRM' },
  { key: 'billing', name: 'Billing' },
  { key: 'analytics', name: 'Analytics' },
];
const REGIONS = ['eu-west', 'us-east', 'ap-south'];
const WORDS = [
  'Acme',
  'Globex',
  'Initech',
  'Umbrella',
  'Hooli',
  'Stark',
  'Wayne',
  'Wonka',
  'Tyrell',
  'Cyberdyne',
];
const KINDS = [
  'Labs',
  'Foods',
  'Retail',
  'Health',
  'Logistics',
  'Media',
  'Energy',
  'Bank',
  'Studio',
  'Travel',
  'Systems',
  'Works',
  'Group',
  'Outfitters',
  'Partners',
  'Holdings',
  'Digital',
  'Motors',
  'Pharma',
  'Insurance',
];

/** Deterministic tenants: t-001 … t-200; 10 internal, 20 key customers, the rest standard. */
export function demoTenants(n = 200) {
  return Array.from({ length: n }, (_, i) => {
    const tier = i < 10 ? 'internal' : i % 10 === 9 ? 'key' : 'standard';
    const apps = APPS.filter((_, k) => (i + k) % (k + 2) !== 0 || k === 1).map((a) => ({ appKey: a.key }));
    return {
      id: `t-${String(i + 1).padStart(3, '0')}`,
      name:
        tier === 'internal'
          ? `Internal ${i + 1}`
          : `${WORDS[i % WORDS.length]} ${KINDS[Math.floor(i / WORDS.length) % KINDS.length]}`,
      tier,
      region: REGIONS[i % REGIONS.length],
      attributes: { plan: tier === 'key' ? 'enterprise' : i % 3 === 0 ? 'pro' : 'starter' },
      installations: apps,
    };
  });
}

const password = () => randomBytes(9).toString('base64url');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function seedDemo(
  call: Call,
  adminToken: string,
  log: (line: string) => void = () => undefined,
): Promise<DemoSeed> {
  const users: DemoUser[] = [
    { role: 'maker', email: 'maker@wavegate.demo', name: 'Mara Maker', password: password() },
    { role: 'checker', email: 'checker@wavegate.demo', name: 'Chen Checker', password: password() },
    { role: 'checker', email: 'checker2@wavegate.demo', name: 'Carla Checker', password: password() },
    { role: 'viewer', email: 'viewer@wavegate.demo', name: 'Vik Viewer', password: password() },
  ];
  for (const u of users)
    await call(
      'POST',
      '/api/users',
      { email: u.email, name: u.name, password: u.password, roles: [u.role] },
      adminToken,
    );
  const login = async (u: DemoUser) =>
    (await call<{ accessToken: string }>('POST', '/api/auth/login', { email: u.email, password: u.password }))
      .accessToken;

  for (const a of APPS) await call('POST', '/api/apps', a, adminToken);
  const tenants = demoTenants();
  await call('POST', '/api/tenants', { tenants }, adminToken);
  log(`seeded ${tenants.length} tenants and ${APPS.length} apps (insight is legacy)`);

  const flags = await seedFlags(call, adminToken);
  log(`seeded ${flags} flags`);

  const maker = await login(users[0]);
  const checker = await login(users[1]);
  const create = (body: Record<string, unknown>) =>
    call<{ id: string; planHash: string; requiredApprovals: number }>(
      'POST',
      '/api/change-requests',
      body,
      maker,
    );

  // Completed: reactivate nothing risky; deactivate the legacy app on the internal tenants, approved and run.
  let completedCr: string | undefined;
  try {
    const done = await create({
      title: 'Retire legacy Insight on internal tenants',
      operation: 'installation.deactivate',
      selector: { tier: 'internal', appKey: 'insight' },
      waves: { bakeSeconds: 1 },
      justification: 'Dogfooding the Insight retirement on our own tenants before any customer.',
      ticket: 'OPS-101',
    });
    await call('POST', `/api/change-requests/${done.id}/submit`, {}, maker);
    await call(
      'POST',
      `/api/change-requests/${done.id}/approve`,
      { planHash: done.planHash, comment: 'Internal only; go.' },
      checker,
    );
    await call('POST', `/api/change-requests/${done.id}/execute`, {}, checker);
    for (let i = 0; i < 150; i++) {
      const cr = await call<{ status: string }>('GET', `/api/change-requests/${done.id}`, undefined, checker);
      if (cr.status === 'completed') {
        completedCr = done.id;
        break;
      }
      if (!['approved', 'running'].includes(cr.status)) break;
      await sleep(200);
    }
    log(completedCr ? `completed change request ${done.id}` : `change request ${done.id} did not complete`);
  } catch (e) {
    log(`no completed change request: ${String(e)}`);
  }

  // Waiting for approval: the legacy app on the standard tenants in eu-west.
  const pending = await create({
    title: 'Retire legacy Insight for standard customers in eu-west',
    operation: 'installation.deactivate',
    selector: { tier: 'standard', region: 'eu-west', appKey: 'insight' },
    waves: { bakeSeconds: 300 },
    justification:
      'Insight reaches end of life on 31 December; these customers have migrated to Analytics (see ticket).',
    ticket: 'OPS-102',
  });
  await call('POST', `/api/change-requests/${pending.id}/submit`, {}, maker);
  log(`change request ${pending.id} is waiting for approval`);
  return { users, tenants: tenants.length, flags, pendingCr: pending.id, completedCr };
}

async function seedFlags(call: Call, token: string): Promise<number> {
  const defs = [
    { key: 'new-checkout', description: 'The redesigned checkout', type: 'release', rollout: 25 },
    { key: 'search-v2', description: 'Search backed by the new index', type: 'release', rollout: 50 },
    {
      key: 'insight-sunset-banner',
      description: 'Banner announcing the end of Insight',
      type: 'operational',
      rollout: 100,
    },
    {
      key: 'payments-kill-switch',
      description: 'Turns card payments off in an incident',
      type: 'kill-switch',
      rollout: 100,
    },
    {
      key: 'beta-reports',
      description: 'Reports beta for opted-in tenants',
      type: 'permission',
      rollout: 10,
    },
  ];
  const envs = await call<
    | { items?: { name: string; requiresChangeRequest: boolean }[] }
    | { name: string; requiresChangeRequest: boolean }[]
  >('GET', '/api/environments', undefined, token);
  const list = Array.isArray(envs) ? envs : (envs.items ?? []);
  let n = 0;
  for (const f of defs) {
    await call('POST', '/api/flags', { key: f.key, description: f.description, type: f.type }, token);
    n++;
    for (const env of list) {
      // Protected environments (production) change only through change requests; the seed lifts the protection for
      // its own initial configuration and puts it back (both steps are in the audit log).
      if (env.requiresChangeRequest)
        await call('PATCH', `/api/environments/${env.name}`, { requiresChangeRequest: false }, token);
      try {
        const rollout = env.name === 'production' ? Math.min(f.rollout, 10) : f.rollout;
        await call(
          'PUT',
          `/api/flags/${f.key}/environments/${env.name}`,
          {
            enabled: f.type !== 'kill-switch',
            strategies: [
              {
                name: 'flexibleRollout',
                parameters: { rollout: String(rollout), stickiness: 'default', groupId: f.key },
              },
            ],
          },
          token,
        );
      } finally {
        if (env.requiresChangeRequest)
          await call('PATCH', `/api/environments/${env.name}`, { requiresChangeRequest: true }, token);
      }
    }
  }
  return n;
}
