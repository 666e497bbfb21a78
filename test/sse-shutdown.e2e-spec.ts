import http from 'node:http';
import { AddressInfo } from 'node:net';
import { SseConnections } from '../src/common/sse.connections';
import { apiToken } from './support/factories';
import { startTestApp } from './support/test-app';

// A graceful shutdown must not wait for event-stream clients: they are ended, and reconnect elsewhere.
it('closes the application while a flag stream client is connected', async () => {
  const t = await startTestApp();
  const token = await apiToken(t, 'client');
  await t.app.listen(0, '127.0.0.1');
  const { port } = t.app.getHttpServer().address() as AddressInfo;
  const ended = new Promise<string>((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: '/api/client/stream', headers: { Authorization: token } },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
  });
  const sse = t.app.get(SseConnections);
  for (let i = 0; i < 100 && sse.size === 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(sse.size).toBe(1);
  const started = Date.now();
  await t.close();
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(await ended).toContain('unleash-connected');
}, 30_000);
