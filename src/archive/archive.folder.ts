// The archive folder's files (docs/decisions/0014-continuous-archive.md): the manifest pair read while a writer may be
// replacing it and written as parity then manifest, files written once with their parity, reads checked against the
// manifest's SHA-256 and repaired in memory from parity, and the deletion of a pruned file's pair.
import { readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { archiveCorrupt } from './archive.errors';
import { writeOnce } from './archive.files';
import { sha } from './archive.formats';
import {
  ArchiveEntry,
  ArchiveManifest,
  emptyManifest,
  MANIFEST_FILE,
  PARITY_SUFFIX,
} from './archive.manifest';
import { checkParity, encodeParity, ParityCheck } from './parity';

export class ArchiveFolder {
  private manifestWrite?: Promise<void>;

  constructor(readonly dir: string) {}

  /** The manifest, repaired in memory from its parity when damaged; ARCHIVE.CORRUPT when beyond repair. */
  manifest(): Promise<ArchiveManifest> {
    const file = join(this.dir, MANIFEST_FILE);
    return this.whileReplaced(async () => {
      let raw: Buffer;
      try {
        raw = await readFile(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyManifest();
        throw e;
      }
      const { data } = await this.checked(MANIFEST_FILE, raw, null);
      return JSON.parse(data.toString('utf8')) as ArchiveManifest;
    });
  }

  /** Where the manifest and its parity are: inode, size and mtime of each (a writer's rename changes them). */
  private async manifestStamp(): Promise<{ id: string; newest: number }> {
    const parts: string[] = [];
    let newest = 0;
    for (const f of [MANIFEST_FILE, MANIFEST_FILE + PARITY_SUFFIX]) {
      try {
        const st = await stat(join(this.dir, f));
        parts.push(`${st.ino}:${st.size}:${st.mtimeMs}`);
        newest = Math.max(newest, st.mtimeMs);
      } catch {
        parts.push('-');
      }
    }
    return { id: parts.join('|'), newest };
  }

  /**
   * Runs a read of the manifest pair again while a writer is replacing it. The manifest and its parity are two
   * files, each replaced by an atomic rename, so a reader between the two renames sees a new parity with the old
   * manifest: that looks like damage beyond repair and is not. A read that fails is retried while this process is
   * writing the manifest, while either file changed during the read, or while either was replaced in the last
   * second (another process: the CLI or another replica's archiver); damage on disk fails the same way every time.
   */
  async whileReplaced<T>(read: () => Promise<T>, ok: (r: T) => boolean = () => true): Promise<T> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      await this.manifestWrite;
      const before = await this.manifestStamp();
      let r: { value: T } | { error: unknown };
      try {
        r = { value: await read() };
      } catch (error) {
        r = { error };
      }
      if ('value' in r && ok(r.value)) return r.value;
      const after = await this.manifestStamp();
      const moving =
        this.manifestWrite !== undefined || after.id !== before.id || Date.now() - after.newest < 1_000;
      if (!moving || Date.now() > deadline) {
        if ('error' in r) throw r.error;
        return r.value;
      }
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  async writeManifest(m: ArchiveManifest): Promise<void> {
    const data = Buffer.from(JSON.stringify(m, null, 1), 'utf8');
    const write = (async () => {
      await writeOnce(join(this.dir, MANIFEST_FILE + PARITY_SUFFIX), await encodeParity(data));
      await writeOnce(join(this.dir, MANIFEST_FILE), data);
    })();
    this.manifestWrite = write.then(
      () => undefined,
      () => undefined,
    );
    try {
      await write;
    } finally {
      this.manifestWrite = undefined;
    }
  }

  /** Writes a new archive file and its parity (parity first), once; the hashes its manifest entry records. */
  async writeArchived(name: string, data: Buffer): Promise<{ sha256: string; paritySha256: string }> {
    const parity = await encodeParity(data);
    await writeOnce(join(this.dir, name + PARITY_SUFFIX), parity);
    await writeOnce(join(this.dir, name), data);
    return { sha256: sha(data), paritySha256: sha(parity) };
  }

  /**
   * The file's bytes after checking them against the manifest's SHA-256 and the parity: damaged blocks are rebuilt
   * in memory; ARCHIVE.CORRUPT names the file and blocks when parity cannot.
   */
  private async checked(
    name: string,
    raw: Buffer,
    expectedSha: string | null,
  ): Promise<{ data: Buffer; check?: ParityCheck }> {
    if (expectedSha !== null && sha(raw) === expectedSha) return { data: raw };
    let par: Buffer;
    try {
      par = await readFile(join(this.dir, name + PARITY_SUFFIX));
    } catch {
      if (expectedSha === null) return { data: raw };
      throw archiveCorrupt(name, [], 'its SHA-256 does not match and its parity file is missing');
    }
    const r = await checkParity(raw, par);
    if (r.check.ok && expectedSha === null) return { data: raw, check: r.check };
    if (!r.repaired || (expectedSha !== null && sha(r.repaired) !== expectedSha))
      throw archiveCorrupt(
        name,
        r.check.unrepairableBlocks.length ? r.check.unrepairableBlocks : r.check.damagedBlocks,
        r.check.parityUnusable ?? `more than ${2} damaged blocks in a stripe`,
      );
    return { data: r.repaired, check: r.check };
  }

  /** A listed file's bytes, checked (and repaired in memory) as `checked` does; ARCHIVE.CORRUPT when missing. */
  async readEntry(e: ArchiveEntry): Promise<Buffer> {
    let raw: Buffer;
    try {
      raw = await readFile(join(this.dir, e.file));
    } catch {
      throw archiveCorrupt(e.file, [], 'the file is missing');
    }
    return (await this.checked(e.file, raw, e.sha256)).data;
  }

  /** Deletes an archive file and its parity; one already gone is not an error. */
  async prune(file: string): Promise<void> {
    for (const f of [file, file + PARITY_SUFFIX])
      await unlink(join(this.dir, f)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
  }
}
