import {
  BackupManifest,
  backupBaseName,
  expiredBackups,
  MANIFEST_RE,
  newestFirst,
  parseManifest,
} from './backup.manifest';

const m = (createdAt: string, status: BackupManifest['status'] = 'complete', n = 0): BackupManifest => ({
  id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  status,
  createdAt,
  database: 'sqlite',
  fileName: `${backupBaseName(new Date(createdAt), `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`)}.sqlite`,
  sizeBytes: 1,
  sha256: 'x',
  schemaVersion: null,
  wavegateVersion: '0.1.0',
  durationMs: 1,
  trigger: 'schedule',
  requestedBy: 'schedule',
});

describe('backup manifest rules', () => {
  it('names files by UTC time and id so a directory listing sorts by time', () => {
    const name = backupBaseName(new Date('2026-11-30T00:15:02.123Z'), '0a1b2c3d-0000-4000-8000-000000000001');
    expect(name).toBe('wavegate-20261130T001502123Z-0a1b2c3d-0000-4000-8000-000000000001');
    expect(MANIFEST_RE.test(`${name}.json`)).toBe(true);
  });

  it('keeps the newest `retain` complete backups and never deletes one still being written', () => {
    const all = [
      m('2026-01-01T00:00:00.000Z', 'writing', 1), // oldest, but a writer may still own it
      m('2026-01-01T00:05:00.000Z', 'complete', 2),
      m('2026-01-01T00:10:00.000Z', 'complete', 3),
      m('2026-01-01T00:15:00.000Z', 'complete', 4),
      m('2026-01-01T00:20:00.000Z', 'writing', 5),
    ];
    expect(expiredBackups(all, 2).map((x) => x.id.slice(-1))).toEqual(['2']);
    expect(expiredBackups(all, 1).map((x) => x.id.slice(-1))).toEqual(['3', '2']);
    expect(expiredBackups(all, 10)).toEqual([]);
  });

  it('orders by time, then by file name when the clock read the same', () => {
    const a = m('2026-01-01T00:00:00.000Z', 'complete', 1);
    const b = m('2026-01-01T00:00:00.000Z', 'complete', 2);
    const c = m('2026-01-01T00:00:01.000Z', 'complete', 3);
    expect([a, c, b].sort(newestFirst)).toEqual([c, b, a]);
  });

  it('ignores files that are not manifests', () => {
    expect(parseManifest('not json')).toBeNull();
    expect(parseManifest('{"id":"../../etc","status":"complete"}')).toBeNull();
    const ok = m('2026-01-01T00:00:00.000Z');
    expect(parseManifest(JSON.stringify({ ...ok, fileName: '../../../etc/passwd' }))).toBeNull();
    expect(parseManifest(JSON.stringify(ok))).toEqual(ok);
  });
});
