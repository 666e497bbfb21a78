// Verification of the archive folder (docs/decisions/0014-continuous-archive.md): every listed file against its
// SHA-256 and its parity blocks, repaired on disk when asked; the manifest's chain and the segments' continuity; files
// the manifest does not list. The report is what GET /api/backups and `wavegate archive verify` show.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Clock } from '../common/clock';
import { writeOnce } from './archive.files';
import { ArchiveFolder } from './archive.folder';
import { ArchiveReport, FileReport, sha } from './archive.formats';
import {
  ArchiveManifest,
  chainProblems,
  emptyManifest,
  MANIFEST_FILE,
  PARITY_SUFFIX,
} from './archive.manifest';
import { checkParity, encodeParity, ParityCheck } from './parity';

/** The last verification, kept next to the manifest (also one made by the CLI). */
export const VERIFY_FILE = 'last-verify.json';

/** The file checks of one verification: what each file was found to be, in the order they were checked. */
class FolderCheck {
  readonly files: FileReport[] = [];

  constructor(
    private readonly dir: string,
    private readonly repair: boolean,
  ) {}

  private report(
    file: string,
    kind: FileReport['kind'],
    status: FileReport['status'],
    c?: ParityCheck,
    reason?: string,
  ): void {
    this.files.push({
      file,
      kind,
      status,
      damagedBlocks: c?.damagedBlocks ?? [],
      damagedParityBlocks: c?.damagedParityBlocks ?? [],
      unrepairableBlocks: c?.unrepairableBlocks ?? [],
      shardSize: c?.shardSize ?? 0,
      reason: reason ?? c?.parityUnusable,
    });
  }

  /** The file's good bytes (as stored, or repaired from parity), undefined when missing or beyond repair. */
  async check(name: string, kind: FileReport['kind'], expected: string | null): Promise<Buffer | undefined> {
    let raw: Buffer;
    try {
      raw = await readFile(join(this.dir, name));
    } catch {
      this.report(name, kind, 'missing', undefined, 'the file is missing');
      return undefined;
    }
    let par: Buffer | undefined;
    try {
      par = await readFile(join(this.dir, name + PARITY_SUFFIX));
    } catch {
      par = undefined;
    }
    if (!par) {
      const ok = expected === null || sha(raw) === expected;
      this.report(
        name,
        kind,
        ok ? 'ok' : 'unrepairable',
        undefined,
        ok ? 'parity file missing' : 'SHA-256 mismatch and no parity file',
      );
      if (ok && this.repair) await writeOnce(join(this.dir, name + PARITY_SUFFIX), await encodeParity(raw));
      return ok ? raw : undefined;
    }
    const r = await checkParity(raw, par);
    const shaOk = expected === null || sha(raw) === expected;
    if (r.check.ok && shaOk) {
      this.report(name, kind, 'ok', r.check);
      return raw;
    }
    const fixed = r.repaired && (expected === null || sha(r.repaired) === expected);
    if (!fixed) {
      this.report(
        name,
        kind,
        'unrepairable',
        r.check,
        r.check.parityUnusable ??
          (r.check.unrepairableBlocks.length
            ? `more than ${2} damaged blocks in a stripe`
            : 'does not match the manifest'),
      );
      return undefined;
    }
    if (this.repair) {
      if (!r.check.ok || !shaOk) await writeOnce(join(this.dir, name), r.repaired as Buffer);
      if (r.repairedParity) await writeOnce(join(this.dir, name + PARITY_SUFFIX), r.repairedParity);
    }
    this.report(name, kind, this.repair ? 'repaired' : 'damaged', r.check);
    return r.repaired;
  }
}

const good = (f: FileReport) => f.status === 'ok' || f.status === 'repaired';

/** Checks every listed file (SHA-256, parity blocks), the chain and the segments' continuity; repairs when asked. */
export async function verifyFolder(
  folder: ArchiveFolder,
  repair: boolean,
  clock: Clock,
): Promise<ArchiveReport> {
  const fc = new FolderCheck(folder.dir, repair);
  const files = fc.files;
  // The manifest pair may be mid-replacement by the archiver of a running service (this is also the CLI's path).
  const manifestRaw = await folder.whileReplaced(
    async () => {
      files.length = 0;
      return fc.check(MANIFEST_FILE, 'manifest', null);
    },
    () => files.every(good),
  );
  let m = emptyManifest();
  if (manifestRaw) {
    try {
      m = JSON.parse(manifestRaw.toString('utf8')) as ArchiveManifest;
    } catch {
      files[files.length - 1].status = 'unrepairable';
      files[files.length - 1].reason = 'not a manifest';
    }
  }
  for (const e of m.entries) {
    if (m.pruned[String(e.seq)]) continue;
    await fc.check(e.file, e.kind, e.sha256);
  }
  const chain = chainProblems(m);
  // A listed file that is gone (not pruned) is a gap too.
  for (const f of files)
    if (f.status === 'missing' && f.kind === 'segment')
      chain.push({
        seq: m.entries.find((e) => e.file === f.file)?.seq ?? null,
        file: f.file,
        reason: 'gap: the segment file is missing',
      });
  chain.push(...(await unlisted(folder.dir, m)));
  return {
    ok: files.every(good) && chain.length === 0,
    checkedAt: clock.now().toISOString(),
    files: files.filter((f) => f.status !== 'ok' || f.kind === 'manifest'),
    chain,
  };
}

/** Files in the folder that the manifest does not list (left by a crash, or planted): reported, not deleted. */
async function unlisted(dir: string, m: ArchiveManifest): Promise<ArchiveReport['chain']> {
  const listed = new Set(
    m.entries
      .flatMap((e) => [e.file, e.file + PARITY_SUFFIX])
      .concat([MANIFEST_FILE, MANIFEST_FILE + PARITY_SUFFIX, VERIFY_FILE]),
  );
  const found: ArchiveReport['chain'] = [];
  // A file younger than a minute may be one a running archiver has written and not yet listed.
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    if (listed.has(n) || n.startsWith('.')) continue;
    const st = await stat(join(dir, n)).catch(() => undefined);
    if (st?.isFile() && Date.now() - st.mtimeMs > 60_000)
      found.push({ seq: null, file: n, reason: 'not listed in the manifest' });
  }
  return found;
}
