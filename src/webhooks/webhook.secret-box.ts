import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deriveKey } from '../auth/token.codec';

// Signing secrets must be usable, so they cannot be hashed like API tokens: they are sealed with AES-256-GCM under
// a key derived from WAVEGATE_SECRET for this purpose only, bound to their subscription id (AAD), so a sealed secret
// copied onto another row does not open.

const VERSION = 'v1';

export class WebhookSecretBox {
  private readonly key: Buffer;

  /** `purpose`: one key per kind of secret (providers' shared secrets use `provider-secrets`). */
  constructor(appSecret: string, purpose = 'webhook-secrets') {
    this.key = deriveKey(appSecret, purpose);
  }

  static generate(): string {
    return `whsec_${randomBytes(32).toString('base64url')}`;
  }

  seal(subscriptionId: string, secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(subscriptionId));
    const ct = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return [
      VERSION,
      iv.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
      ct.toString('base64url'),
    ].join('.');
  }

  open(subscriptionId: string, sealed: string): string {
    const [version, iv, tag, ct] = sealed.split('.');
    if (version !== VERSION || !iv || !tag || ct === undefined)
      throw new Error('unknown sealed secret format');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(subscriptionId));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  }
}
