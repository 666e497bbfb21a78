import { randomBytes } from 'node:crypto';
import { checkParity, encodeParity, MAX_SHARD, PARITY_K, shardSizeFor } from './parity';

const flip = (b: Buffer, offsets: number[]) => {
  const c = Buffer.from(b);
  for (const o of offsets) c[o] ^= 0xa5;
  return c;
};

describe('Reed-Solomon parity (8 data + 2 parity blocks per stripe)', () => {
  // Three stripes of 4 KiB blocks, the last one short.
  const file = randomBytes(2 * PARITY_K * MAX_SHARD + 5 * MAX_SHARD + 123);
  let par: Buffer;
  const z = shardSizeFor(file.length);

  beforeAll(async () => {
    par = await encodeParity(file);
  });

  it('finds nothing on an intact file', async () => {
    const r = await checkParity(file, par);
    expect(r.check).toMatchObject({
      ok: true,
      damagedBlocks: [],
      damagedParityBlocks: [],
      shardSize: MAX_SHARD,
    });
    expect(r.repaired?.equals(file)).toBe(true);
  });

  it('locates damaged blocks and rebuilds up to two per stripe, in every stripe at once', async () => {
    // Stripe 0: blocks 1 and 7; stripe 1: block 8; stripe 2 (short): its last block.
    const lastBlock = Math.ceil(file.length / z) - 1;
    const bad = flip(file, [z + 3, 7 * z, 8 * z + 100, file.length - 1]);
    const r = await checkParity(bad, par);
    expect(r.check.ok).toBe(false);
    expect(r.check.damagedBlocks).toEqual([1, 7, 8, lastBlock]);
    expect(r.check.unrepairableBlocks).toEqual([]);
    expect(r.repaired?.equals(file)).toBe(true);
  });

  it('rebuilds a damaged parity block and a data block of the same stripe, and the parity file with it', async () => {
    // Parity file layout: 4-byte length, header, parity blocks, header, length.
    const headerLen = par.readUInt32BE(0);
    const badPar = flip(par, [4 + headerLen + 10]);
    const r = await checkParity(flip(file, [5]), badPar);
    expect(r.check.damagedBlocks).toEqual([0]);
    expect(r.check.damagedParityBlocks).toEqual([0]);
    expect(r.repaired?.equals(file)).toBe(true);
    expect(r.repairedParity?.equals(par)).toBe(true);
  });

  it('reports three damaged blocks in one stripe as beyond repair, naming them', async () => {
    const r = await checkParity(flip(file, [0, z, 2 * z, 9 * z]), par);
    expect(r.check.damagedBlocks).toEqual([0, 1, 2, 9]);
    expect(r.check.unrepairableBlocks).toEqual([0, 1, 2]);
    expect(r.repaired).toBeUndefined();
  });

  it('survives one damaged copy of the parity header, not both', async () => {
    const headerLen = par.readUInt32BE(0);
    const front = flip(par, [4 + 20]);
    expect((await checkParity(flip(file, [17]), front)).repaired?.equals(file)).toBe(true);
    const both = flip(front, [par.length - 4 - headerLen + 20]);
    const r = await checkParity(file, both);
    expect(r.check.parityUnusable).toBe('both copies of the parity header are damaged');
    expect(r.repaired).toBeUndefined();
  });

  it('treats a truncated file as damaged blocks and rebuilds it when within capacity', async () => {
    const cut = file.subarray(0, file.length - 200);
    const r = await checkParity(cut, par);
    expect(r.check.ok).toBe(false);
    // The last block holds 123 bytes: cutting 200 reaches into the one before it.
    const last = Math.ceil(file.length / z) - 1;
    expect(r.check.damagedBlocks).toEqual([last - 1, last]);
    expect(r.repaired?.equals(file)).toBe(true);
  });

  it('uses small blocks for small files', async () => {
    const small = randomBytes(500);
    expect(shardSizeFor(small.length)).toBe(64);
    const p = await encodeParity(small);
    const r = await checkParity(flip(small, [70, 130]), p);
    expect(r.check.damagedBlocks).toEqual([1, 2]);
    expect(r.repaired?.equals(small)).toBe(true);
  });
});
