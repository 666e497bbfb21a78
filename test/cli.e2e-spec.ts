import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { cliRunner } from './support/child-server';

// The operator CLI, run as a real process (the compiled server, see compileServer) on a fresh SQLite file.
describe('CLI: migrate, user create, audit verify, backup', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wavegate-cli-'));
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
    WAVEGATE_SECRET: 'cli-test-secret-0123456789-0123456789',
    LOG_LEVEL: 'silent',
  };
  const cli = cliRunner(env);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('migrates, creates a user from stdin, verifies and then detects tampering', async () => {
    const m = await cli(['migrate']);
    expect(m.stdout).toMatch(/applied: .*Foundation/);
    expect((await cli(['migrate'])).stdout).toMatch(/no pending migrations/);

    const u = await cli(
      ['user', 'create', '--email', 'Ops@Example.com', '--name', 'Ops', '--roles', 'checker,viewer'],
      'a-long-password-1\n',
    );
    expect(u.stdout).toMatch(/created ops@example.com .* with roles checker, viewer/);

    const ok = await cli(['audit', 'verify']);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, entries: 1 });

    const db = new Database(join(dir, 'db.sqlite'));
    db.prepare(`UPDATE audit_entries SET action = 'user.deleted' WHERE seq = 1`).run();
    db.close();
    await expect(cli(['audit', 'verify'])).rejects.toMatchObject({
      code: 1,
      stdout: expect.stringContaining('"firstBrokenSeq":1'),
    });
  }, 120_000);

  it('refuses a short password and an unknown role', async () => {
    await expect(cli(['user', 'create', '--email', 'x@y.z', '--name', 'X'], 'short\n')).rejects.toMatchObject(
      {
        stderr: expect.stringContaining('password: at least 12 characters'),
      },
    );
    await expect(
      cli(['user', 'create', '--email', 'x@y.z', '--name', 'X', '--roles', 'root'], 'a-long-password-1\n'),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining('unknown role(s) root'),
    });
  }, 120_000);

  it('reports every bad variable at boot and exits 2', async () => {
    await expect(
      cli(['migrate'], undefined, { PORT: 'x', DATABASE_URL: 'mysql://nope' }),
    ).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/PORT:[\s\S]*DATABASE_URL:/) });
  }, 120_000);

  it('backup: prints the manifest of a consistent backup; --verify checks it and detects tampering', async () => {
    await cli(['migrate']);
    const b = await cli(['backup']);
    const m = JSON.parse(b.stdout) as { id: string; fileName: string; sha256: string; trigger: string };
    expect(m).toMatchObject({ status: 'complete', database: 'sqlite', trigger: 'cli', requestedBy: 'cli' });
    // WAVEGATE_BACKUP_DIR defaults to backups/ next to the SQLite file.
    const file = join(dir, 'backups', m.fileName);
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(m.sha256);

    const byId = await cli(['backup', '--verify', m.id]);
    expect(JSON.parse(byId.stdout)).toEqual({
      ok: true,
      id: m.id,
      fileName: m.fileName,
      sha256: 'ok',
      check: 'ok',
    });
    expect(JSON.parse((await cli(['backup', '--verify', file])).stdout)).toMatchObject({ ok: true });
    const db = new Database(join(dir, 'db.sqlite'), { readonly: true });
    expect(
      db.prepare(`SELECT actor, entity_id AS id FROM audit_entries WHERE action = 'backup.created'`).all(),
    ).toEqual([{ actor: 'cli', id: m.id }]);
    db.close();

    // One flipped byte in a table page: the hash no longer matches and verify exits 1.
    const bytes = readFileSync(file);
    bytes[bytes.length - 100] ^= 0xff;
    writeFileSync(file, bytes);
    await expect(cli(['backup', '--verify', m.id])).rejects.toMatchObject({
      code: 1,
      stdout: expect.stringContaining('"sha256":"mismatch"'),
    });
    await expect(cli(['backup', '--verify', 'no-such-backup.sqlite'])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('no backup manifest for no-such-backup.sqlite'),
    });
  }, 120_000);

  it('backup: exits non-zero with the reason when it cannot write', async () => {
    const notADir = join(dir, 'not-a-dir');
    writeFileSync(notADir, 'x');
    await expect(cli(['backup'], undefined, { WAVEGATE_BACKUP_DIR: notADir })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/EEXIST|ENOTDIR/),
    });
  }, 120_000);
});
