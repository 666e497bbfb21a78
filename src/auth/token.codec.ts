import { createHmac, randomBytes } from 'node:crypto';
import { sha256Hex } from '../common/canonical-json';
import { TokenKind } from '../common/principal';

const KIND_PREFIX: Record<TokenKind, string> = { admin: 'wga', automation: 'wgu', client: 'wgc' };

/** A new API token: a kind prefix and 256 random bits. Only its SHA-256 is stored. */
export function generateApiToken(kind: TokenKind): { token: string; hash: string; prefix: string } {
  const token = `${KIND_PREFIX[kind]}_${randomBytes(32).toString('base64url')}`;
  return { token, hash: sha256Hex(token), prefix: token.slice(0, 12) };
}

export const hashApiToken = (token: string): string => sha256Hex(token);

/** Derives a purpose-bound key from WAVEGATE_SECRET, so one secret never serves two purposes directly. */
export function deriveKey(secret: string, purpose: string): Buffer {
  return createHmac('sha256', secret).update(`wavegate:${purpose}`).digest();
}
