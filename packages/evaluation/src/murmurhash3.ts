// MurmurHash3, x86 32-bit variant.
// Bytes are taken as the low 8 bits of each UTF-16 code unit: that is what the `murmurhash3js` package
// does, and the Unleash server and the Unleash node SDK hash with it, so buckets agree with them for any
// input (for ASCII input this is the same as hashing UTF-8 bytes, as the Go and Rust SDKs do).

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

export const STRATEGY_SEED = 0;
export const VARIANT_SEED = 86028157;

function mixK1(k1: number): number {
  k1 = Math.imul(k1, C1);
  k1 = (k1 << 15) | (k1 >>> 17);
  return Math.imul(k1, C2);
}

function mixH1(h1: number, k1: number): number {
  h1 ^= mixK1(k1);
  h1 = (h1 << 13) | (h1 >>> 19);
  return (Math.imul(h1, 5) + 0xe6546b64) | 0;
}

function finalize(h1: number, length: number): number {
  h1 ^= length;
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  return h1 >>> 0;
}

// Bytes i..i+3 of s as one little-endian block.
function block(s: string, i: number): number {
  return (
    (s.charCodeAt(i) & 0xff) |
    ((s.charCodeAt(i + 1) & 0xff) << 8) |
    ((s.charCodeAt(i + 2) & 0xff) << 16) |
    ((s.charCodeAt(i + 3) & 0xff) << 24)
  );
}

// Hash of one string; returns an unsigned 32-bit integer.
export function murmurhash3(key: string, seed = 0): number {
  return murmurhash3Prefixed(hashPrefix('', seed), key);
}

// Hash of `prefix + value` without building the concatenated string. The hot path hashes after a prefix fixed at
// compile time with hashPrefix / murmurhash3Prefixed instead, which does not hash the prefix again.
export function murmurhash3Concat(prefix: string, value: string, seed = 0): number {
  return murmurhash3Prefixed(hashPrefix(prefix, seed), value);
}

// The hash state after a fixed prefix (`${groupId}:`), computed once when a flag is compiled: hashing
// `prefix + value` then only processes the value's bytes (the hot path hashes one per evaluation).
export interface HashPrefix {
  readonly prefix: string;
  readonly seed: number;
  // h1 after the prefix's whole 4-byte blocks.
  readonly h1: number;
  // The prefix's last (length & 3) bytes, little-endian, waiting for the value's first bytes.
  readonly tail: number;
  readonly tailLength: number;
  readonly length: number;
}

export function hashPrefix(prefix: string, seed: number): HashPrefix {
  const length = prefix.length;
  const blocks = length - (length & 3);
  let h1 = seed | 0;
  for (let i = 0; i < blocks; i += 4) h1 = mixH1(h1, block(prefix, i));
  let tail = 0;
  for (let i = blocks; i < length; i++) tail |= (prefix.charCodeAt(i) & 0xff) << (8 * (i - blocks));
  return { prefix, seed, h1, tail, tailLength: length & 3, length };
}

// murmurhash3(p.prefix + value, p.seed), from the precomputed prefix state.
export function murmurhash3Prefixed(p: HashPrefix, value: string): number {
  const vl = value.length;
  const length = p.length + vl;
  let h1 = p.h1;
  let i = 0;
  const tl = p.tailLength;
  if (tl !== 0) {
    // Complete the block the prefix started, or end inside it.
    let k1 = p.tail;
    const need = 4 - tl;
    const take = vl < need ? vl : need;
    for (let j = 0; j < take; j++) k1 |= (value.charCodeAt(j) & 0xff) << (8 * (tl + j));
    if (vl < need) {
      h1 ^= mixK1(k1);
      return finalize(h1, length);
    }
    h1 = mixH1(h1, k1);
    i = need;
  }
  const blocksEnd = i + ((vl - i) & ~3);
  for (; i < blocksEnd; i += 4) h1 = mixH1(h1, block(value, i));
  const rem = vl - i;
  if (rem !== 0) {
    let k1 = value.charCodeAt(i) & 0xff;
    if (rem >= 2) k1 |= (value.charCodeAt(i + 1) & 0xff) << 8;
    if (rem === 3) k1 |= (value.charCodeAt(i + 2) & 0xff) << 16;
    h1 ^= mixK1(k1);
  }
  return finalize(h1, length);
}

// Unleash's bucket of an id after a precomputed prefix: 1..normalizer.
export function prefixedBucket(p: HashPrefix, id: string, normalizer: number): number {
  return (murmurhash3Prefixed(p, id) % normalizer) + 1;
}

// Unleash's bucket of an id: 1..normalizer. `groupPrefix` is `${groupId}:`.
export function normalizedValue(groupPrefix: string, id: string, normalizer: number, seed: number): number {
  return (murmurhash3Concat(groupPrefix, id, seed) % normalizer) + 1;
}
