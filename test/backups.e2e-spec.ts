import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { DataSource } from 'typeorm';
import { AuditService } from '../src/audit/audit.service';
import { BackupManifest } from '../src/backups/backup.manifest';
import { BackupScheduler } from '../src/backups/backup.scheduler';
import { BackupsService } from '../src/backups/backups.service';
import { loadConfig } from '../src/config/config.schema';
import { buildDataSourceOptions } from '../src/database/data-source.options';
import { bearer, onPostgres, startTestApp, TestApp } from './support/test-app';

const run = promisify(execFile);
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function onPath(name: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      // next
    }
  }
  return undefined;
}
// Whether this machine can make PostgreSQL backups; decides which outcome the PostgreSQL run asserts.
const PG_DUMP = onPath('pg_dump');

describe('backups: POST/GET /api/backups', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('backs up online while tenants are being created; the backup is complete, consistent and matches its manifest', async () => {
    if (onPostgres() && !PG_DUMP) {
      // No pg_dump on this machine: the refusal must be clear (501 naming why), and leave nothing behind.
      const res = await t.http().post('/api/backups').set(bearer(t.adminToken)).send({});
      expect(res.status).toBe(501);
      expect(res.body).toMatchObject({ code: 'BACKUP.PG_DUMP_NOT_FOUND' });
      expect(res.body.message).toMatch(/pg_dump/);
      return;
    }
    const maker = (await t.userToken(['maker'])).token;
    const committed: string[] = [];
    let stop = false;
    let n = 0;
    const writer = (async () => {
      while (!stop) {
        const id = `tenant-${++n}`;
        const r = await t
          .http()
          .post('/api/tenants')
          .set(bearer(maker))
          .send({ id, name: id, tier: 'standard' });
        if (r.status !== 201) throw new Error(`tenant create: ${r.status} ${JSON.stringify(r.body)}`);
        committed.push(id);
      }
    })();
    while (committed.length < 25) await sleep(10);
    const before = [...committed];
    const res = await t.http().post('/api/backups').set(bearer(t.adminToken)).send({});
    const duringBackup = committed.length - before.length;
    while (committed.length < before.length + duringBackup + 10) await sleep(10);
    stop = true;
    await writer;

    expect(res.status).toBe(201);
    const m = res.body as BackupManifest;
    expect(m).toMatchObject({
      status: 'complete',
      database: onPostgres() ? 'postgres' : 'sqlite',
      trigger: 'api',
      requestedBy: expect.stringMatching(/^user:/),
      schemaVersion: expect.stringMatching(/\d{13}$/),
      wavegateVersion: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
    expect(m.fileName).toMatch(new RegExp(`^wavegate-\\d{8}T\\d{9}Z-${m.id}\\.(sqlite|dump)$`));
    const file = join(t.config.backupDir, m.fileName);
    expect(statSync(file).size).toBe(m.sizeBytes);
    expect(sha256(file)).toBe(m.sha256);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const manifestFile = file.replace(/\.(sqlite|dump)$/, '.json');
    expect(statSync(manifestFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(manifestFile, 'utf8'))).toEqual(m);
    // Only the backup and its manifest: no temporary file is left behind.
    expect(readdirSync(t.config.backupDir).sort()).toEqual(
      [m.fileName, `${m.fileName.replace(/\.\w+$/, '')}.json`].sort(),
    );

    // audited, with an outbox event
    const audit = await t.http().get('/api/audit?action=backup.created').set(bearer(t.adminToken));
    expect(audit.body.items).toEqual([
      expect.objectContaining({
        entityType: 'backup',
        entityId: m.id,
        data: expect.objectContaining({ sha256: m.sha256 }),
      }),
    ]);

    if (onPostgres()) {
      // A custom-format archive pg_restore reads, with every tenant committed before the backup began.
      const list = await run('pg_restore', ['--list', file]);
      expect(list.stdout).toMatch(/TABLE DATA \S+ tenants /);
      const data = await run('pg_restore', ['--data-only', '--table=tenants', '--file=-', file], {
        maxBuffer: 64 * 1024 * 1024,
      });
      for (const id of before) expect(data.stdout).toContain(`${id}\t`);
      return;
    }

    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
      const ids = new Set(
        (db.prepare('SELECT id FROM tenants').all() as Array<{ id: string }>).map((r) => r.id),
      );
      for (const id of before) expect(ids.has(id)).toBe(true);
      // A snapshot of one moment: each tenant's audit entry is there exactly when the tenant is.
      const audited = db
        .prepare(`SELECT count(*) AS c FROM audit_entries WHERE action = 'tenant.created'`)
        .get() as {
        c: number;
      };
      expect(audited.c).toBe(ids.size);
    } finally {
      db.close();
    }
    // The backup is a working database: its audit chain verifies (opened on a copy, as a restore would).
    const restoreDir = mkdtempSync(join(tmpdir(), 'wavegate-restore-'));
    try {
      copyFileSync(file, join(restoreDir, 'wavegate.sqlite'));
      const path = join(restoreDir, 'wavegate.sqlite');
      const ds = new DataSource(buildDataSourceOptions({ kind: 'sqlite', path, url: `sqlite:${path}` }));
      await ds.initialize();
      try {
        const verified = await new AuditService(ds).verify();
        expect(verified).toMatchObject({ ok: true });
        expect(verified.entries).toBeGreaterThan(before.length);
      } finally {
        await ds.destroy();
      }
    } finally {
      rmSync(restoreDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('lists manifests newest first, paginated, with file names only; /metrics shows the last success', async () => {
    if (onPostgres() && !PG_DUMP) {
      const res = await t.http().get('/api/backups').set(bearer(t.adminToken));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: [] });
      return;
    }
    const made: BackupManifest[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await t.http().post('/api/backups').set(bearer(t.adminToken));
      expect(r.status).toBe(201);
      made.push(r.body as BackupManifest);
    }
    const page1 = await t.http().get('/api/backups?limit=2').set(bearer(t.adminToken));
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((m: BackupManifest) => m.id)).toEqual([made[2].id, made[1].id]);
    expect(JSON.stringify(page1.body)).not.toContain(t.config.backupDir);
    const page2 = await t
      .http()
      .get(`/api/backups?limit=2&cursor=${page1.body.nextCursor as string}`)
      .set(bearer(t.adminToken));
    expect(page2.body.items[0].id).toBe(made[0].id);

    const metrics = await t.http().get('/metrics').set(bearer(t.adminToken));
    const last = /^wavegate_backup_last_success_timestamp_seconds (\S+)$/m.exec(metrics.text);
    expect(Number(last?.[1])).toBeGreaterThan(Date.now() / 1000 - 60);
  }, 60_000);

  it('is admin-only: other roles and client/automation tokens get 403, anonymous 401', async () => {
    const token = async (kind: string, environment?: string) =>
      (
        await t
          .http()
          .post('/api/tokens')
          .set(bearer(t.adminToken))
          .send({ name: kind, kind, ...(environment ? { environment } : {}) })
      ).body.token as string;
    const refused = [
      (await t.userToken(['viewer'])).token,
      (await t.userToken(['maker', 'checker'])).token,
      await token('automation'),
      await token('client', 'production'),
    ];
    for (const tk of refused) {
      expect((await t.http().post('/api/backups').set(bearer(tk))).status).toBe(403);
      expect((await t.http().get('/api/backups').set(bearer(tk))).status).toBe(403);
    }
    expect((await t.http().post('/api/backups')).status).toBe(401);
    expect((await t.http().get('/api/backups')).status).toBe(401);
    expect(
      (
        await t
          .http()
          .get('/api/backups')
          .set(bearer(await token('admin')))
      ).status,
    ).toBe(200);
  }, 60_000);

  it('refuses bad input naming the field', async () => {
    const unknown = await t.http().post('/api/backups').set(bearer(t.adminToken)).send({ tenant: 'acme' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.details).toEqual([{ field: 'tenant', reason: 'unknown field' }]);
    const limit = await t.http().get('/api/backups?limit=0').set(bearer(t.adminToken));
    expect(limit.status).toBe(400);
    expect(limit.body.details[0].field).toBe('limit');
    const cursor = await t.http().get('/api/backups?cursor=nonsense').set(bearer(t.adminToken));
    expect(cursor.status).toBe(400);
    expect(cursor.body.details[0].field).toBe('cursor');
  });
});

// The next two suites are about PostgreSQL itself (pg_dump, advisory locks between replicas): they are registered
// only in the PostgreSQL pass of the e2e suite (TEST_DATABASE_URL set, as `.ci/run` does), not skipped in the SQLite one.
const onPostgresOnly = onPostgres() ? describe : (_name: string, _body: () => void) => undefined;

onPostgresOnly('backups: PostgreSQL without pg_dump', () => {
  it('refuses with 501 naming WAVEGATE_PG_DUMP and leaves no file behind', async () => {
    const t = await startTestApp({ env: { WAVEGATE_PG_DUMP: '/nonexistent/pg_dump' } });
    try {
      const res = await t.http().post('/api/backups').set(bearer(t.adminToken));
      expect(res.status).toBe(501);
      expect(res.body).toMatchObject({
        code: 'BACKUP.PG_DUMP_NOT_FOUND',
        details: [{ field: 'WAVEGATE_PG_DUMP', reason: expect.stringContaining('/nonexistent/pg_dump') }],
      });
      expect(existsSync(t.config.backupDir) ? readdirSync(t.config.backupDir) : []).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

describe('backups: an unwritable backup folder', () => {
  it('is a 409 naming WAVEGATE_BACKUP_DIR, not a 500, and the service goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wavegate-not-a-dir-'));
    writeFileSync(join(dir, 'file'), 'x');
    const t = await startTestApp({ env: { WAVEGATE_BACKUP_DIR: join(dir, 'file') } });
    try {
      const res = await t.http().post('/api/backups').set(bearer(t.adminToken));
      if (onPostgres() && !PG_DUMP) {
        expect(res.status).toBe(501); // checked first
        return;
      }
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({
        code: 'BACKUP.DIR_UNUSABLE',
        details: [{ field: 'WAVEGATE_BACKUP_DIR', reason: expect.stringMatching(/^E[A-Z]+ on mkdir$/) }],
      });
      expect(JSON.stringify(res.body)).not.toContain(dir);
      const list = await t.http().get('/api/backups').set(bearer(t.adminToken));
      expect(list.status).toBe(409);
      expect(list.body.code).toBe('BACKUP.DIR_UNUSABLE');
      expect((await t.http().get('/health/ready')).status).toBe(200);
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

onPostgresOnly('backups: several PostgreSQL replicas', () => {
  it('only the replica holding the advisory lock makes scheduled backups; another takes over when it stops', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'wavegate-replicas-'));
    const configFor = (schema: string) => {
      const u = new URL(process.env.TEST_DATABASE_URL as string);
      u.searchParams.set('schema', schema);
      return loadConfig(
        { DATABASE_URL: u.toString(), WAVEGATE_SECRET: 'test-secret-0123456789-0123456789-abcdef' },
        cwd,
      );
    };
    const schema = `wg_lock_${Date.now()}`;
    const made: string[] = [];
    // A fake backup service: these replicas only decide who backs up.
    const replica = (name: string, s = schema) =>
      new BackupScheduler(
        {
          create: () => {
            made.push(name);
            return Promise.resolve({ fileName: name, sizeBytes: 0, durationMs: 0 });
          },
        } as unknown as BackupsService,
        configFor(s),
      );
    const a = replica('a');
    const b = replica('b');
    const other = replica('other-installation', `${schema}_2`);
    try {
      await a.tick(); // a takes the lock first and keeps it
      for (let i = 0; i < 2; i++) await Promise.all([a.tick(), b.tick()]);
      expect(made.sort()).toEqual(['a', 'a', 'a']);
      await other.tick(); // another schema elects its own leader
      expect(made).toContain('other-installation');
      made.length = 0;
      await a.onApplicationShutdown(); // releases the lock (its connection ends)
      await b.tick();
      await b.tick();
      expect(made).toEqual(['b', 'b']);
    } finally {
      await Promise.all([a, b, other].map((r) => r.onApplicationShutdown()));
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('backups: schedule and retention', () => {
  it('backs up every interval, keeps RETAIN complete backups (never one being written) and stops on shutdown', async () => {
    if (onPostgres() && !PG_DUMP) {
      // Each attempt fails clearly and is logged; the service keeps running.
      const t = await startTestApp({ env: { WAVEGATE_BACKUP_INTERVAL_SECONDS: '1' } });
      await sleep(2500);
      expect((await t.http().get('/health/ready')).status).toBe(200);
      const metrics = await t.http().get('/metrics').set(bearer(t.adminToken));
      expect(metrics.text).toMatch(/^wavegate_backup_failures_total [1-9]/m);
      await t.close();
      return;
    }
    // Outside the test's data folder, so it can be inspected after the app (and its database) is gone.
    const dir = mkdtempSync(join(tmpdir(), 'wavegate-backups-'));
    const t = await startTestApp({
      env: { WAVEGATE_BACKUP_INTERVAL_SECONDS: '1', WAVEGATE_BACKUP_RETAIN: '2', WAVEGATE_BACKUP_DIR: dir },
    });
    // A backup whose writer crashed long ago: retention must leave it alone.
    const stale = 'wavegate-20200101T000000000Z-00000000-0000-4000-8000-000000000000';
    let closed = false;
    try {
      const seen = new Map<string, string>();
      const deadline = Date.now() + 20_000;
      while (seen.size < 5 && Date.now() < deadline) {
        if (!existsSync(join(dir, `${stale}.json`))) {
          writeFileSync(
            join(dir, `${stale}.json`),
            JSON.stringify({
              id: '00000000-0000-4000-8000-000000000000',
              status: 'writing',
              createdAt: '2020-01-01T00:00:00.000Z',
              database: onPostgres() ? 'postgres' : 'sqlite',
              fileName: `${stale}.sqlite`,
            }),
          );
        }
        const r = await t.http().get('/api/backups').set(bearer(t.adminToken));
        for (const m of r.body.items as BackupManifest[])
          if (m.status === 'complete') seen.set(m.id, m.createdAt);
        await sleep(200);
      }
      expect(seen.size).toBeGreaterThanOrEqual(5);
      const r = await t.http().get('/api/backups').set(bearer(t.adminToken));
      const items = r.body.items as BackupManifest[];
      const complete = items.filter((m) => m.status === 'complete');
      expect(complete.length).toBeLessThanOrEqual(3); // RETAIN, plus one finished between prune and this read
      expect(complete.every((m) => m.trigger === 'schedule' && m.requestedBy === 'schedule')).toBe(true);
      expect(items[items.length - 1].id).toBe('00000000-0000-4000-8000-000000000000');
      // The oldest ones are gone, file and manifest.
      const oldestFirst = [...seen].sort((a, b) => (a[1] < b[1] ? -1 : 1)).map(([id]) => id);
      for (const id of oldestFirst.slice(0, -3))
        expect(readdirSync(dir).some((f) => f.includes(id))).toBe(false);
      const files = readdirSync(dir).filter((f) => /\.(sqlite|dump)$/.test(f));
      expect(files.length).toBe(complete.length);

      await t.close();
      closed = true;
      const after = readdirSync(dir).sort();
      await sleep(2200);
      expect(readdirSync(dir).sort()).toEqual(after); // the schedule stopped with the app
    } finally {
      if (!closed) await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
