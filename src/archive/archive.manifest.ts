// The archive's hash-chained manifest and the pure rules around it (chain and gap checks, retention); no I/O.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json';

export const GENESIS = '0'.repeat(64);
export const MANIFEST_FILE = 'manifest.json';
export const PARITY_SUFFIX = '.par';

/** One archived file. `hash` is the SHA-256 of the canonical JSON of every other field, `prev` the previous entry's. */
export interface ArchiveEntry {
  seq: number;
  kind: 'base' | 'segment';
  file: string;
  sha256: string;
  size: number;
  paritySha256: string;
  /** Positions covered: (after, to]. A base is the state after every change up to `to` (after = to). */
  after: number;
  to: number;
  /** Segment: times of its first and last change; base: when its consistent read was taken. */
  firstAt: string | null;
  lastAt: string | null;
  createdAt: string;
  /**
   * Segment: transactions with changes in it that also have changes after `to` (a transaction cut by the segment's
   * end, on PostgreSQL or at the size limit), so a reader finishes them before judging them by their last change.
   */
  continues?: number[];
  prev: string;
  hash: string;
}

export interface ArchiveManifest {
  format: 'wavegate-archive/1';
  /** Entries before the first one listed were pruned; `prev` of the first entry must equal `checkpoint`. */
  checkpoint: string;
  entries: ArchiveEntry[];
  /** seq -> when retention deleted the file; the entry stays so the chain stays whole. */
  pruned: Record<string, string>;
}

export const emptyManifest = (): ArchiveManifest => ({
  format: 'wavegate-archive/1',
  checkpoint: GENESIS,
  entries: [],
  pruned: {},
});

export function entryHash(e: Omit<ArchiveEntry, 'hash'>): string {
  const { seq, kind, file, sha256, size, paritySha256, after, to, firstAt, lastAt, createdAt, prev } = e;
  const body = {
    seq,
    kind,
    file,
    sha256,
    size,
    paritySha256,
    after,
    to,
    firstAt,
    lastAt,
    createdAt,
    continues: e.continues ?? [],
    prev,
  };
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

export function appendEntry(
  m: ArchiveManifest,
  e: Omit<ArchiveEntry, 'seq' | 'prev' | 'hash'>,
): ArchiveEntry {
  const last = m.entries[m.entries.length - 1];
  const base = { ...e, seq: last ? last.seq + 1 : 1, prev: last ? last.hash : m.checkpoint };
  const entry = { ...base, hash: entryHash(base) };
  m.entries.push(entry);
  return entry;
}

export interface ChainProblem {
  seq: number | null;
  file: string | null;
  reason: string;
}

/** Hash chain, order and position continuity of segments; a problem names the entry. */
export function chainProblems(m: ArchiveManifest): ChainProblem[] {
  const out: ChainProblem[] = [];
  let prev = m.checkpoint;
  let lastSeq: number | undefined;
  let lastSegTo: number | undefined;
  for (const e of m.entries) {
    if (e.hash !== entryHash(e))
      out.push({ seq: e.seq, file: e.file, reason: 'entry altered: its hash does not match' });
    if (e.prev !== prev)
      out.push({
        seq: e.seq,
        file: e.file,
        reason: "chain broken: prev is not the previous entry's hash (removed or reordered entry)",
      });
    if (lastSeq !== undefined && e.seq !== lastSeq + 1)
      out.push({ seq: e.seq, file: e.file, reason: `sequence jumps from ${lastSeq} to ${e.seq}` });
    if (e.kind === 'segment') {
      if (lastSegTo !== undefined && e.after !== lastSegTo)
        out.push({
          seq: e.seq,
          file: e.file,
          reason: `gap: positions ${lastSegTo + 1}–${e.after} are in no segment`,
        });
      lastSegTo = e.to;
    }
    prev = e.hash;
    lastSeq = e.seq;
  }
  return out;
}

export interface RetentionPolicy {
  /** Every base of the last `allSeconds` is kept. */
  allSeconds: number;
  /** Then the first base of each hour, for `hourlySeconds`. */
  hourlySeconds: number;
  /** Then the first base of each day, for `dailyDays`. */
  dailyDays: number;
}

/** The oldest moment the policy promises to keep restorable at `now`: every tier's span, added up. */
export function windowStart(now: Date, p: RetentionPolicy): number {
  return now.getTime() - (p.allSeconds + p.hourlySeconds) * 1000 - p.dailyDays * 86_400_000;
}

/**
 * Which entries retention may delete at `now`. Bases: all of the last `allSeconds`, the first of each hour for
 * `hourlySeconds`, the first of each day for `dailyDays`, and the anchor: the newest base at or before the window's
 * start (windowStart), without which the moments between the window's start and the next kept base could not be
 * rebuilt. The oldest kept base starts the restorable history: every segment after it is kept (each moment needs the
 * base before it plus every segment up to it); segments wholly before it, and bases not kept, go. The newest base is
 * always kept, so nothing is deleted without a newer kept base.
 */
export function expiredEntries(m: ArchiveManifest, now: Date, p: RetentionPolicy): ArchiveEntry[] {
  const live = m.entries.filter((e) => !m.pruned[String(e.seq)]);
  const bases = live.filter((e) => e.kind === 'base');
  if (bases.length === 0) return [];
  const t = now.getTime();
  const start = windowStart(now, p);
  const keep = new Set<number>();
  const hours = new Set<number>();
  const days = new Set<number>();
  let anchor: ArchiveEntry | undefined;
  for (const b of bases) {
    const at = Date.parse(b.lastAt as string);
    const age = t - at;
    if (at <= start) anchor = b;
    if (age <= p.allSeconds * 1000) keep.add(b.seq);
    else if (age <= (p.allSeconds + p.hourlySeconds) * 1000) {
      const h = Math.floor(at / 3_600_000);
      if (!hours.has(h)) keep.add(b.seq);
      hours.add(h);
    } else if (at >= start) {
      const d = Math.floor(at / 86_400_000);
      if (!days.has(d)) keep.add(b.seq);
      days.add(d);
    }
  }
  if (anchor) keep.add(anchor.seq);
  // The newest base is always kept: without it nothing after it could be rebuilt.
  keep.add(bases[bases.length - 1].seq);
  const oldestKept = bases.find((b) => keep.has(b.seq)) as ArchiveEntry;
  return live.filter((e) => (e.kind === 'base' ? !keep.has(e.seq) : e.to <= oldestKept.to));
}
