import { bearer, startTestApp, TestApp } from './support/test-app';

type Case = {
  name: string;
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  url: string;
  auth?: 'admin' | 'none' | 'garbage';
  body?: unknown;
  raw?: string;
  contentType?: string;
};

const huge = 'x'.repeat(5000);

// Every request here is malformed in one way; each must get a 4xx with a JSON error body, and the server must
// keep serving. When a feature adds routes, add its malformed requests here.
const CASES: Case[] = [
  // malformed JSON
  {
    name: 'login: truncated JSON',
    method: 'post',
    url: '/api/auth/login',
    raw: '{"email": "a@b.c", ',
    auth: 'none',
  },
  {
    name: 'login: not JSON at all',
    method: 'post',
    url: '/api/auth/login',
    raw: 'email=a@b.c',
    auth: 'none',
  },
  {
    name: 'login: trailing comma',
    method: 'post',
    url: '/api/auth/login',
    raw: '{"email":"a@b.c","password":"x",}',
    auth: 'none',
  },
  { name: 'users: truncated JSON', method: 'post', url: '/api/users', raw: '{"email":' },
  { name: 'tokens: single quotes', method: 'post', url: '/api/tokens', raw: "{'name':'x'}" },
  {
    name: 'users patch: bare brace',
    method: 'patch',
    url: '/api/users/00000000-0000-4000-8000-000000000000',
    raw: '{',
  },
  // wrong body shape
  { name: 'login: array body', method: 'post', url: '/api/auth/login', body: [1, 2], auth: 'none' },
  { name: 'login: string body', method: 'post', url: '/api/auth/login', raw: '"hello"', auth: 'none' },
  { name: 'login: null body', method: 'post', url: '/api/auth/login', raw: 'null', auth: 'none' },
  { name: 'users: array body', method: 'post', url: '/api/users', body: [] },
  { name: 'users: number body', method: 'post', url: '/api/users', raw: '42' },
  { name: 'tokens: null body', method: 'post', url: '/api/tokens', raw: 'null' },
  { name: 'backups: truncated JSON', method: 'post', url: '/api/backups', raw: '{"x":' },
  { name: 'backups: array body', method: 'post', url: '/api/backups', body: [{}] },
  { name: 'backups: unknown field', method: 'post', url: '/api/backups', body: { tenant: 'acme' } },
  { name: 'backups: limit not a number', method: 'get', url: '/api/backups?limit=ten' },
  { name: 'backups: forged cursor', method: 'get', url: '/api/backups?cursor=e30' },
  // wrong types
  {
    name: 'login: email is a number',
    method: 'post',
    url: '/api/auth/login',
    body: { email: 5, password: 'x' },
    auth: 'none',
  },
  {
    name: 'login: password is an object',
    method: 'post',
    url: '/api/auth/login',
    body: { email: 'a@b.c', password: { $gt: '' } },
    auth: 'none',
  },
  {
    name: 'login: missing password',
    method: 'post',
    url: '/api/auth/login',
    body: { email: 'a@b.c' },
    auth: 'none',
  },
  {
    name: 'login: not an email',
    method: 'post',
    url: '/api/auth/login',
    body: { email: 'nope', password: 'x' },
    auth: 'none',
  },
  {
    name: 'users: roles is a string',
    method: 'post',
    url: '/api/users',
    body: { email: 'a@b.c', name: 'a', password: 'long-enough-pw', roles: 'admin' },
  },
  {
    name: 'users: unknown role',
    method: 'post',
    url: '/api/users',
    body: { email: 'a@b.c', name: 'a', password: 'long-enough-pw', roles: ['root'] },
  },
  {
    name: 'users: empty roles',
    method: 'post',
    url: '/api/users',
    body: { email: 'a@b.c', name: 'a', password: 'long-enough-pw', roles: [] },
  },
  {
    name: 'users: short password',
    method: 'post',
    url: '/api/users',
    body: { email: 'a@b.c', name: 'a', password: 'short', roles: ['viewer'] },
  },
  {
    name: 'users: bad email',
    method: 'post',
    url: '/api/users',
    body: { email: 'not-an-email', name: 'a', password: 'long-enough-pw', roles: ['viewer'] },
  },
  {
    name: 'users: name is a number',
    method: 'post',
    url: '/api/users',
    body: { email: 'a@b.c', name: 7, password: 'long-enough-pw', roles: ['viewer'] },
  },
  {
    name: 'users: duplicate roles',
    method: 'post',
    url: '/api/users',
    body: { email: 'a@b.c', name: 'a', password: 'long-enough-pw', roles: ['viewer', 'viewer'] },
  },
  {
    name: 'users patch: disabled is a string',
    method: 'patch',
    url: '/api/users/00000000-0000-4000-8000-000000000000',
    body: { disabled: 'yes' },
  },
  {
    name: 'users patch: roles null',
    method: 'patch',
    url: '/api/users/00000000-0000-4000-8000-000000000000',
    body: { roles: null },
  },
  { name: 'tokens: unknown kind', method: 'post', url: '/api/tokens', body: { name: 'x', kind: 'root' } },
  {
    name: 'tokens: name is an array',
    method: 'post',
    url: '/api/tokens',
    body: { name: ['x'], kind: 'admin' },
  },
  {
    name: 'tokens: client without environment',
    method: 'post',
    url: '/api/tokens',
    body: { name: 'x', kind: 'client' },
  },
  {
    name: 'tokens: admin with environment',
    method: 'post',
    url: '/api/tokens',
    body: { name: 'x', kind: 'admin', environment: 'production' },
  },
  { name: 'tokens: empty name', method: 'post', url: '/api/tokens', body: { name: '', kind: 'admin' } },
  // unknown fields
  {
    name: 'login: unknown field',
    method: 'post',
    url: '/api/auth/login',
    body: { email: 'a@b.c', password: 'x', admin: true },
    auth: 'none',
  },
  {
    name: 'users: unknown field isAdmin',
    method: 'post',
    url: '/api/users',
    body: { email: 'a@b.c', name: 'a', password: 'long-enough-pw', roles: ['viewer'], isAdmin: true },
  },
  {
    name: 'users: passwordHash smuggled',
    method: 'post',
    url: '/api/users',
    body: { email: 'a@b.c', name: 'a', password: 'long-enough-pw', roles: ['viewer'], passwordHash: 'x' },
  },
  {
    name: 'users patch: unknown field',
    method: 'patch',
    url: '/api/users/00000000-0000-4000-8000-000000000000',
    body: { email: 'new@x.y' },
  },
  {
    name: 'tokens: unknown field tokenHash',
    method: 'post',
    url: '/api/tokens',
    body: { name: 'x', kind: 'admin', tokenHash: 'abc' },
  },
  {
    name: 'tokens: __proto__ field',
    method: 'post',
    url: '/api/tokens',
    raw: '{"name":"x","kind":"admin","__proto__":{"admin":true}}',
  },
  // huge strings and bodies
  {
    name: 'login: huge email',
    method: 'post',
    url: '/api/auth/login',
    body: { email: `${huge}@b.c`, password: 'x' },
    auth: 'none',
  },
  {
    name: 'login: huge password',
    method: 'post',
    url: '/api/auth/login',
    body: { email: 'a@b.c', password: huge },
    auth: 'none',
  },
  {
    name: 'users: huge name',
    method: 'post',
    url: '/api/users',
    body: { email: 'a@b.c', name: huge, password: 'long-enough-pw', roles: ['viewer'] },
  },
  { name: 'tokens: huge name', method: 'post', url: '/api/tokens', body: { name: huge, kind: 'admin' } },
  {
    name: 'users: 2 MiB body',
    method: 'post',
    url: '/api/users',
    body: { email: 'a@b.c', name: 'x'.repeat(2 * 1024 * 1024) },
  },
  {
    name: 'login: 2 MiB body',
    method: 'post',
    url: '/api/auth/login',
    raw: JSON.stringify({ email: 'a@b.c', password: 'y'.repeat(2 * 1024 * 1024) }),
    auth: 'none',
  },
  {
    name: 'tenant import: 17 MiB body',
    method: 'post',
    url: '/api/tenants',
    raw: JSON.stringify({ tenants: [], pad: 'z'.repeat(17 * 1024 * 1024) }),
  },
  // invalid ids and queries
  { name: 'users get: not a uuid', method: 'get', url: '/api/users/not-a-uuid' },
  { name: 'users get: sql-ish id', method: 'get', url: "/api/users/1'%20OR%20'1'='1" },
  { name: 'users get: unknown uuid', method: 'get', url: '/api/users/00000000-0000-4000-8000-000000000000' },
  { name: 'users patch: not a uuid', method: 'patch', url: '/api/users/123', body: { disabled: true } },
  { name: 'tokens delete: not a uuid', method: 'delete', url: '/api/tokens/abc' },
  {
    name: 'tokens delete: unknown uuid',
    method: 'delete',
    url: '/api/tokens/00000000-0000-4000-8000-000000000000',
  },
  { name: 'audit: limit not a number', method: 'get', url: '/api/audit?limit=lots' },
  { name: 'audit: limit too big', method: 'get', url: '/api/audit?limit=100000' },
  { name: 'audit: bad date', method: 'get', url: '/api/audit?from=yesterday' },
  { name: 'audit: forged cursor', method: 'get', url: '/api/audit?cursor=bm90LWEtY3Vyc29y' },
  { name: 'audit: unknown query field', method: 'get', url: '/api/audit?evil=1' },
  { name: 'events: forged cursor', method: 'get', url: '/api/events?after=%7B%7D' },
  { name: 'events: negative limit', method: 'get', url: '/api/events?limit=-1' },
  { name: 'unknown route', method: 'get', url: '/api/nothing-here' },
  { name: 'ui: malformed percent-encoding', method: 'get', url: '/ui/%E0%A4%A', auth: 'none' },
  { name: 'ui: path traversal', method: 'get', url: '/ui/..%2F..%2Fpackage.json', auth: 'none' },
  {
    name: 'wrong content type',
    method: 'post',
    url: '/api/tokens',
    raw: '<xml/>',
    contentType: 'application/xml',
  },
  // feature routes
  {
    name: 'tenants: bad tier',
    method: 'post',
    url: '/api/tenants',
    body: { id: 'acme', name: 'Acme', tier: 'gold' },
  },
  {
    name: 'tenants: id with a slash',
    method: 'post',
    url: '/api/tenants',
    body: { id: 'a/b', name: 'x', tier: 'standard' },
  },
  {
    name: 'tenants: attributes is a list',
    method: 'post',
    url: '/api/tenants',
    body: { id: 'acme', name: 'x', tier: 'standard', attributes: [1] },
  },
  {
    name: 'tenants: tenants is an object',
    method: 'post',
    url: '/api/tenants',
    body: { tenants: { id: 'x' } },
  },
  {
    name: 'tenants: csv with a bad row',
    method: 'post',
    url: '/api/tenants',
    raw: 'id,name,tier\nacme,Acme,platinum\n',
    contentType: 'text/csv',
  },
  { name: 'tenants: unknown id', method: 'get', url: '/api/tenants/%00%ff' },
  { name: 'tenants: bad status filter', method: 'get', url: '/api/tenants?status=gone' },
  {
    name: 'change requests: unknown operation',
    method: 'post',
    url: '/api/change-requests',
    body: { title: 'x', operation: 'site.nuke', justification: 'y', targets: [] },
  },
  {
    name: 'change requests: targets is a string',
    method: 'post',
    url: '/api/change-requests',
    body: { title: 'x', operation: 'installation.deactivate', justification: 'y', targets: 'all' },
  },
  {
    name: 'change requests: target without type',
    method: 'post',
    url: '/api/change-requests',
    body: { title: 'x', operation: 'installation.deactivate', justification: 'y', targets: [{ id: 'a/b' }] },
  },
  {
    name: 'change requests: negative wave size',
    method: 'post',
    url: '/api/change-requests',
    body: {
      title: 'x',
      operation: 'installation.deactivate',
      justification: 'y',
      targets: [{ type: 'installation', id: 'a/b' }],
      waves: { sizes: [-1] },
    },
  },
  { name: 'change requests: not a uuid', method: 'get', url: '/api/change-requests/123' },
  {
    name: 'change requests: approve without hash',
    method: 'post',
    url: '/api/change-requests/00000000-0000-4000-8000-000000000000/approve',
    body: {},
  },
  { name: 'change requests: bad status filter', method: 'get', url: '/api/change-requests?status=sideways' },
  { name: 'flags: bad key', method: 'post', url: '/api/flags', body: { key: 'Bad Key!', type: 'release' } },
  {
    name: 'flags: unknown operator',
    method: 'put',
    url: '/api/flags/nope/environments/development',
    body: {
      enabled: true,
      strategies: [{ name: 'default', constraints: [{ contextName: 'x', operator: 'LIKE', values: ['a'] }] }],
    },
  },
  {
    name: 'signals: bad severity',
    method: 'post',
    url: '/api/signals',
    body: { source: 'x', severity: 'apocalyptic', message: 'm' },
  },
  {
    name: 'signals: malformed environment',
    method: 'post',
    url: '/api/signals',
    body: { source: 'x', severity: 'error', flagKey: 'f', environment: 'Prod uction', message: 'm' },
  },
  {
    name: 'signals: unknown environment',
    method: 'post',
    url: '/api/signals',
    body: { source: 'x', severity: 'error', flagKey: 'f', environment: 'moon', message: 'm' },
  },
  {
    name: 'signals: alertmanager body is a list',
    method: 'post',
    url: '/api/signals/alertmanager',
    body: [],
  },
  {
    name: 'webhooks: ftp url',
    method: 'post',
    url: '/api/webhooks',
    body: { name: 'x', url: 'ftp://example.com/h', format: 'slack', events: ['*'] },
  },
  {
    name: 'webhooks: bad format',
    method: 'post',
    url: '/api/webhooks',
    body: { name: 'x', url: 'https://example.com/h', format: 'xml', events: ['*'] },
  },
  {
    name: 'policies: negative approvals',
    method: 'put',
    url: '/api/policies',
    body: { operations: { 'tenant.purge': { minApprovals: -3 } } },
  },
  {
    name: 'ofrep: context is a string',
    method: 'post',
    url: '/ofrep/v1/evaluate/flags/x',
    body: { context: 'nope' },
  },
  // missing or bad auth
  { name: 'me without auth', method: 'get', url: '/api/auth/me', auth: 'none' },
  { name: 'users with garbage bearer', method: 'get', url: '/api/users', auth: 'garbage' },
  {
    name: 'tokens without auth',
    method: 'post',
    url: '/api/tokens',
    body: { name: 'x', kind: 'admin' },
    auth: 'none',
  },
  { name: 'audit verify without auth', method: 'get', url: '/api/audit/verify', auth: 'none' },
  { name: 'logout without auth', method: 'post', url: '/api/auth/logout', auth: 'none' },
];

describe('bad input is a 4xx naming the problem, and the server keeps serving', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('has at least 50 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(50);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    let req = t.http()[c.method](c.url);
    if (c.auth === 'garbage') req = req.set('Authorization', 'Bearer garbage.token.here');
    else if (c.auth !== 'none') req = req.set(bearer(t.adminToken));
    if (c.raw !== undefined) req = req.set('Content-Type', c.contentType ?? 'application/json').send(c.raw);
    else if (c.body !== undefined) req = req.send(c.body as object);
    const res = await req;
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body).toMatchObject({
      statusCode: res.status,
      error: expect.any(String),
      message: expect.any(String),
    });
    if (res.status === 400 && c.body !== undefined && typeof c.body === 'object' && !Array.isArray(c.body)) {
      // a 400 for a JSON object names a field
      expect(res.body.message).toMatch(/\w+:/);
    }
    await t.http().get('/health/live').expect(200);
  });

  it('created nothing from any of them', async () => {
    const users = await t.http().get('/api/users').set(bearer(t.adminToken)).expect(200);
    expect(users.body.items).toHaveLength(1);
    const tokens = await t.http().get('/api/tokens').set(bearer(t.adminToken)).expect(200);
    expect(tokens.body.items).toHaveLength(0);
  });
});
