import { ArchiveReader } from '../src/archive/archive.reader';
import { runDrill } from './support/dr-drill';
import { startTestApp, TestApp } from './support/test-app';

// The DR drill of issue 12: 500 tenants under steady writes; at T a script outside Wavegate deletes 100 of them
// straight from the database; a reviewed tenant.restore CR for those 100 at T - 1 s brings each back equal, row by
// row and column by column, to a copy taken at T - 1 s, and leaves the other 400 exactly as they were (including
// their writes after T). RTO and RPO are printed, not asserted (figures belong to the benchmark).
describe('DR drill: 100 of 500 tenants deleted by a script, restored to T - 1 s', () => {
  let t: TestApp;

  beforeAll(async () => {
    process.env.WAVEGATE_ENGINE_POLL_MS = '20';
    t = await startTestApp({ env: { WAVEGATE_ARCHIVE_INTERVAL_SECONDS: '1' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('restores exactly the deleted tenants, exactly as they were, and nothing else', async () => {
    const archive = t.app.get(ArchiveReader);
    const r = await runDrill(t, {
      tenants: 500,
      deleted: 100,
      newestRestorable: async () => (await archive.restorableWindow()).newest,
      archivedThrough: async () => (await archive.restorableWindow()).archivedThrough,
      waves: { sizes: [1, 9, 90], bakeSeconds: 0 },
    });
    process.stdout.write(
      `DR drill (${t.database.schema ? 'PostgreSQL' : 'SQLite'}): ${r.restored} tenants restored, ` +
        `RTO ${(r.rtoMs / 1000).toFixed(2)} s (approval -> last tenant restored), RPO ${(r.rpoMs / 1000).toFixed(2)} s ` +
        `(newest restorable moment at T; ${r.archiveRpoMs === null ? 'no segment yet' : `${(r.archiveRpoMs / 1000).toFixed(2)} s`} ` +
        `from the archive's files alone), ${r.writesAfterT} writes to other tenants after T\n`,
    );
    // The plan showed each deleted tenant as absent now, with its rows to be restored and nothing overwritten.
    expect(r.planTargets).toHaveLength(100);
    for (const p of r.planTargets) {
      expect(p.state).toBe('absent');
      const rows = (p.detail as { rows: Record<string, number> }).rows;
      expect(rows.restored).toBeGreaterThanOrEqual(2);
      expect(rows.overwritten + rows.removed).toBe(0);
    }
    expect(r.writesAfterT).toBeGreaterThan(0);
    expect(r.mismatches.slice(0, 3)).toEqual([]);
    expect(r.restored).toBe(100);
    expect(r.untouched).toBe(400);
  });
});
