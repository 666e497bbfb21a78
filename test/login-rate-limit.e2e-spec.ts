import { startTestApp, ADMIN_EMAIL } from './support/test-app';

// In its own file: passport strategies are process-wide, so each e2e file runs one application at a time.
describe('login rate limit', () => {
  it('rate-limits login', async () => {
    const limited = await startTestApp({ env: { WAVEGATE_LOGIN_RATE_LIMIT: '3' } });
    try {
      // startTestApp itself logged in once
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push(
          (
            await limited
              .http()
              .post('/api/auth/login')
              .send({ email: ADMIN_EMAIL, password: 'wrong-password' })
          ).status,
        );
      }
      expect(statuses).toEqual([401, 401, 429, 429]);
    } finally {
      await limited.close();
    }
  });
});
