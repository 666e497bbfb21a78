import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, TestApp } from '../support/test-app';

// HTTP-level checks of how the service serves the approval UI; the browser specs beside this drive the UI itself.
describe('web UI serving at /ui', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  it('serves the built UI publicly, falls back to index.html for app routes, and keeps the API protected', async () => {
    t = await startTestApp();
    const index = await t.http().get('/ui/').expect(200);
    expect(index.headers['content-type']).toMatch(/text\/html/);
    expect(index.text).toContain('<div id="root">');
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");

    const asset = /src="\/ui\/(assets\/[^"]+\.js)"/.exec(index.text)?.[1];
    expect(asset).toBeDefined();
    const js = await t.http().get(`/ui/${asset}`).expect(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect(js.headers['cache-control']).toContain('immutable');

    // Deep links into the single-page app load the app.
    const deep = await t.http().get('/ui/change-requests/abc?tab=targets').expect(200);
    expect(deep.text).toContain('<div id="root">');
    await t.http().get('/ui').expect(200);
    await t.http().get('/').expect(302).expect('Location', '/ui/');

    // A missing file is a 404, not the app; a path that escapes web/dist serves nothing from outside it.
    await t.http().get('/ui/assets/missing.js').expect(404);
    const escape = await t.http().get('/ui/..%2f..%2fpackage.json');
    expect(escape.text).not.toContain('"workspaces"');

    // Serving the UI publicly does not open the API.
    await t.http().get('/api/auth/me').expect(401);
  });

  it('explains how to build the UI when web/dist is missing, and the service keeps working', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'wavegate-no-ui-'));
    try {
      t = await startTestApp({ webDistDir: join(empty, 'dist') });
      const res = await t.http().get('/ui/inbox').expect(503);
      expect(res.text).toContain('npm run build');
      await t.http().get('/health/live').expect(200);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
