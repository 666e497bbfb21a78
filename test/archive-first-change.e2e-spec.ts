import { ArchiveReader } from '../src/archive/archive.reader';
import { ArchiveService } from '../src/archive/archive.service';
import { bearer, startTestApp, TestApp } from './support/test-app';

// A base taken while nothing is captured yet (a fresh installation) must not swallow the first captured change: on
// PostgreSQL an unused sequence shows last_value 1, which was read as "position 1 is already handed out".
describe('archive: the first captured change after a base on an empty capture', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('is in the rebuild', async () => {
    const archive = t.app.get(ArchiveService);
    await archive.base();
    const res = await t
      .http()
      .post('/api/tenants')
      .set(bearer(t.adminToken))
      .send({ tenants: ['f0', 'f1'].map((id) => ({ id, name: `First ${id}`, tier: 'standard' })) });
    expect(res.status).toBe(201);
    await archive.step();
    await new Promise((r) => setTimeout(r, 20));
    const images = await t.app.get(ArchiveReader).rowsAt(['f0', 'f1'], new Date());
    expect(images.get('f0')?.tables.tenants.map((r) => r.name)).toEqual(['First f0']);
    expect(images.get('f1')?.tables.tenants.map((r) => r.name)).toEqual(['First f1']);
  });
});
