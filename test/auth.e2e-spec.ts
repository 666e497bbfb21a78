import { startTestApp, TestApp, bearer, ADMIN_EMAIL } from './support/test-app';

describe('identity and access', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses a wrong password and an unknown user with the same 401', async () => {
    const wrong = await t
      .http()
      .post('/api/auth/login')
      .send({ email: ADMIN_EMAIL, password: 'not-the-password' })
      .expect(401);
    const unknown = await t
      .http()
      .post('/api/auth/login')
      .send({ email: 'nobody@test.local', password: 'whatever-123' })
      .expect(401);
    expect(wrong.body.message).toBe(unknown.body.message);
    expect(wrong.body).not.toHaveProperty('accessToken');
  });

  it('refuses a disabled user at login and ends their open sessions', async () => {
    const u = await t.userToken(['maker']);
    await t.http().get('/api/auth/me').set(bearer(u.token)).expect(200);
    await t.http().patch(`/api/users/${u.id}`).set(bearer(t.adminToken)).send({ disabled: true }).expect(200);
    await t.http().get('/api/auth/me').set(bearer(u.token)).expect(401);
    await t
      .http()
      .post('/api/auth/login')
      .send({ email: u.email, password: 'user-password-123' })
      .expect(401);
  });

  it('accepts the session cookie set at login', async () => {
    const u = await t.userToken(['viewer']);
    const agent = (await import('supertest')).agent(t.app.getHttpServer());
    await agent.post('/api/auth/login').send({ email: u.email, password: 'user-password-123' }).expect(200);
    const me = await agent.get('/api/auth/me').expect(200);
    expect(me.body.email).toBe(u.email);
  });

  it('gives a viewer 403 on a write route', async () => {
    const v = await t.userToken(['viewer']);
    const res = await t
      .http()
      .post('/api/tokens')
      .set(bearer(v.token))
      .send({ name: 'x', kind: 'admin' })
      .expect(403);
    expect(res.body.code).toBe('AUTH.FORBIDDEN');
    await t.http().post('/api/users').set(bearer(v.token)).send({}).expect(403);
  });

  it('shows an API token once and stores only its hash', async () => {
    const created = await t
      .http()
      .post('/api/tokens')
      .set(bearer(t.adminToken))
      .send({ name: 'ops', kind: 'admin' })
      .expect(201);
    const token = created.body.token as string;
    expect(token).toMatch(/^wga_/);
    const list = await t.http().get('/api/tokens').set(bearer(t.adminToken)).expect(200);
    const serialized = JSON.stringify(list.body);
    expect(serialized).not.toContain(token);
    expect(serialized).not.toContain(token.slice(12));
    const row = list.body.items.find((i: { id: string }) => i.id === created.body.id);
    expect(row).toMatchObject({ name: 'ops', kind: 'admin', prefix: token.slice(0, 12) });
    expect(row).not.toHaveProperty('token');
    expect(row).not.toHaveProperty('tokenHash');
    // the admin token works until revoked
    await t.http().get('/api/users').set(bearer(token)).expect(200);
    await t.http().delete(`/api/tokens/${created.body.id}`).set(bearer(t.adminToken)).expect(204);
    await t.http().get('/api/users').set(bearer(token)).expect(401);
  });

  it('gives a client token 403 on every admin route', async () => {
    const created = await t
      .http()
      .post('/api/tokens')
      .set(bearer(t.adminToken))
      .send({ name: 'svc', kind: 'client', environment: 'production' })
      .expect(201);
    const client = bearer(created.body.token);
    const adminRoutes: Array<['get' | 'post' | 'patch' | 'delete', string, object?]> = [
      ['post', '/api/users', { email: 'x@y.z', name: 'x', password: 'long-enough-pass', roles: ['admin'] }],
      ['get', '/api/users'],
      ['patch', `/api/users/${created.body.id}`, { disabled: true }],
      ['post', '/api/tokens', { name: 'escalate', kind: 'admin' }],
      ['get', '/api/tokens'],
      ['delete', `/api/tokens/${created.body.id}`],
      ['get', '/api/audit'],
      ['get', '/api/audit/verify'],
      ['get', '/api/events'],
      ['get', '/metrics'],
    ];
    for (const [method, url, body] of adminRoutes) {
      const req = t.http()[method](url).set(client);
      const res = await (body ? req.send(body) : req);
      expect({ method, url, status: res.status }).toEqual({ method, url, status: 403 });
    }
  });

  it('requires an identity everywhere but login, health and the API docs', async () => {
    for (const url of [
      '/api/auth/me',
      '/api/users',
      '/api/tokens',
      '/api/audit',
      '/api/events',
      '/metrics',
    ]) {
      const res = await t.http().get(url);
      expect({ url, status: res.status }).toEqual({ url, status: 401 });
    }
    await t.http().get('/api/docs-json').expect(200);
    await t.http().get('/health/live').expect(200);
  });

  it('serves Prometheus metrics to an admin', async () => {
    await t.http().get('/api/auth/me').set(bearer(t.adminToken)).expect(200);
    const res = await t.http().get('/metrics').set(bearer(t.adminToken)).expect(200);
    expect(res.text).toContain('wavegate_http_request_duration_seconds_bucket');
    expect(res.text).toContain('route="/api/auth/me"');
  });
});
