// The backup manifest and the pure rules around it (names, ordering, retention); no I/O here.

export type BackupTrigger = 'schedule' | 'api' | 'cli';
export type BackupDatabaseKind = 'sqlite' | 'postgres';
export const BACKUP_TRIGGERS: BackupTrigger[] = ['schedule', 'api', 'cli'];

/** Written next to each backup file as `<fileName minus extension>.json`. */
export interface BackupManifest {
  id: string;
  /** `writing` from the moment the backup starts until its file is complete and hashed. */
  status: 'writing' | 'complete';
  /** ISO time the backup started (the injected clock's time). */
  createdAt: string;
  database: BackupDatabaseKind;
  /** The backup file's name in the backup directory (never a path). */
  fileName: string;
  sizeBytes: number;
  /** SHA-256 (hex) of the backup file. */
  sha256: string;
  /** The latest migration applied to the database when it was backed up. */
  schemaVersion: string | null;
  wavegateVersion: string;
  durationMs: number;
  trigger: BackupTrigger;
  /** Audit actor id (`user:…`, `token:…`), `cli` or `schedule`. */
  requestedBy: string;
}

const ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const isBackupId = (s: string): boolean => ID_RE.test(s);

/** `wavegate-20261130T001502123Z-<id>`: sorts by time in a directory listing. */
export function backupBaseName(createdAt: Date, id: string): string {
  const stamp = createdAt.toISOString().replace(/[-:]/g, '').replace('.', '');
  return `wavegate-${stamp}-${id}`;
}

export const backupExtension = (kind: BackupDatabaseKind): string =>
  kind === 'sqlite' ? '.sqlite' : '.dump';

export const MANIFEST_RE = /^wavegate-\d{8}T\d{9}Z-[0-9a-f-]{36}\.json$/;
const FILE_RE = /^wavegate-\d{8}T\d{9}Z-[0-9a-f-]{36}\.(sqlite|dump)$/;

/** Newest first; ties (same clock reading) by file name, which is unique. */
export function newestFirst(a: BackupManifest, b: BackupManifest): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.fileName < b.fileName ? 1 : a.fileName > b.fileName ? -1 : 0;
}

/**
 * The complete backups to delete so that `retain` complete ones remain. A backup still being written is never
 * deleted and does not count: a crash mid-backup leaves a `writing` manifest for the operator to look at.
 */
export function expiredBackups(manifests: BackupManifest[], retain: number): BackupManifest[] {
  return manifests
    .filter((m) => m.status === 'complete')
    .sort(newestFirst)
    .slice(retain);
}

/** Parses a manifest file's text; null when it is not one of ours. */
export function parseManifest(text: string): BackupManifest | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const m = v as Partial<BackupManifest>;
  if (
    typeof m.id !== 'string' ||
    !isBackupId(m.id) ||
    (m.status !== 'writing' && m.status !== 'complete') ||
    typeof m.createdAt !== 'string' ||
    typeof m.fileName !== 'string' ||
    // Only ever a file of ours in the same folder: retention deletes what a manifest names.
    !FILE_RE.test(m.fileName) ||
    !m.fileName.includes(m.id) ||
    (m.database !== 'sqlite' && m.database !== 'postgres')
  )
    return null;
  return m as BackupManifest;
}
