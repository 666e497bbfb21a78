import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

// Envelope encryption for tenant snapshots (Node's crypto only): each tenant has a random 256-bit data key; the
// data key is stored wrapped (AES-256-GCM) under the key-encryption key derived from WAVEGATE_SECRET. Destroying the
// wrapped data key makes every snapshot of that tenant unreadable (crypto-shredding), wherever copies of it live.

const IV_BYTES = 12;
const TAG_BYTES = 16;

export function newDataKey(): Buffer {
  return randomBytes(32);
}

/** base64(iv | tag | ciphertext); `aad` binds the ciphertext to its context (tenant id, purpose). */
export function seal(key: Buffer, plaintext: Buffer, aad: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64');
}

/** Throws when the key is wrong or the data was altered (GCM authentication). */
export function open(key: Buffer, sealed: string, aad: string): Buffer {
  const raw = Buffer.from(sealed, 'base64');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new Error('sealed data is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
}
