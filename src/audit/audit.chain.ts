import { canonicalJson, sha256Hex } from '../common/canonical-json';

export const GENESIS_HASH = '0'.repeat(64);

export interface ChainFields {
  seq: number;
  at: Date;
  actor: string;
  action: string;
  entityType: string;
  entityId: string;
  /** The canonical JSON text as stored. */
  data: string;
  prevHash: string;
}

// hash = SHA-256 over the canonical JSON of the entry's fields and the previous entry's hash.
export function entryHash(e: ChainFields): string {
  return sha256Hex(
    canonicalJson({
      seq: e.seq,
      at: e.at.toISOString(),
      actor: e.actor,
      action: e.action,
      entityType: e.entityType,
      entityId: e.entityId,
      data: e.data,
      prevHash: e.prevHash,
    }),
  );
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  headHash: string;
  firstBrokenSeq?: number;
  reason?: string;
}

/**
 * Walks the chain in seq order. Reports the first seq whose stored hash does not match its contents, whose
 * prevHash does not match its predecessor, or that is missing (a gap). `head` is the separately stored newest
 * seq/hash, so that deleting the newest entries is detected too.
 */
export class ChainVerifier {
  private expectedSeq = 1;
  private prevHash = GENESIS_HASH;
  private count = 0;
  private broken?: { seq: number; reason: string };

  push(e: ChainFields & { hash: string }): boolean {
    if (this.broken) return false;
    this.count++;
    if (e.seq !== this.expectedSeq) {
      this.broken = { seq: this.expectedSeq, reason: `entry ${this.expectedSeq} is missing` };
      return false;
    }
    if (e.prevHash !== this.prevHash) {
      this.broken = { seq: e.seq, reason: `entry ${e.seq} does not link to entry ${e.seq - 1}` };
      return false;
    }
    if (entryHash(e) !== e.hash) {
      this.broken = {
        seq: e.seq,
        reason: `entry ${e.seq} was altered (its hash does not match its contents)`,
      };
      return false;
    }
    this.prevHash = e.hash;
    this.expectedSeq++;
    return true;
  }

  finish(head: { seq: number; hash: string } | null): VerifyResult {
    if (!this.broken && head && (head.seq !== this.expectedSeq - 1 || head.hash !== this.prevHash)) {
      this.broken =
        head.seq >= this.expectedSeq
          ? { seq: this.expectedSeq, reason: `entries ${this.expectedSeq}..${head.seq} are missing` }
          : { seq: head.seq, reason: `the chain head does not match entry ${head.seq}` };
    }
    if (!this.broken && !head && this.expectedSeq > 1) {
      this.broken = { seq: 1, reason: 'the chain head record is missing' };
    }
    return this.broken
      ? {
          ok: false,
          entries: this.count,
          headHash: this.prevHash,
          firstBrokenSeq: this.broken.seq,
          reason: this.broken.reason,
        }
      : { ok: true, entries: this.count, headHash: this.prevHash };
  }
}
