import { startTestApp, TestApp, bearer, ADMIN_EMAIL, ADMIN_PASSWORD } from './support/test-app';

describe('foundation: auth, health', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('serves /health/ready and /health/live without auth', async () => {
    const ready = await t.http().get('/health/ready').expect(200);
    expect(ready.body).toEqual({ status: 'ok', checks: { database: 'ok', migrations: 'ok' } });
    await t.http().get('/health/live').expect(200);
  });

  it('logs in, answers me, logs out (the token stops working)', async () => {
    const login = await t
      .http()
      .post('/api/auth/login')
      .send({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD })
      .expect(200);
    const token = login.body.accessToken as string;
    expect(login.body.user).toMatchObject({ email: ADMIN_EMAIL, roles: expect.arrayContaining(['admin']) });
    const cookie = String(login.headers['set-cookie']);
    expect(cookie).toMatch(/wavegate_session=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const me = await t.http().get('/api/auth/me').set(bearer(token)).expect(200);
    expect(me.body).toMatchObject({ kind: 'user', email: ADMIN_EMAIL });
    await t.http().post('/api/auth/logout').set(bearer(token)).expect(204);
    await t.http().get('/api/auth/me').set(bearer(token)).expect(401);
  });
});
