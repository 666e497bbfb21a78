import { newDataKey, open, seal } from './tenant-crypto';

describe('tenant snapshot envelope (AES-256-GCM)', () => {
  const key = newDataKey();
  const plain = Buffer.from('{"tenant":{"id":"acme"}}');

  it('round-trips with the same key and context', () => {
    expect(open(key, seal(key, plain, 'snapshot:acme'), 'snapshot:acme').equals(plain)).toBe(true);
  });

  it('uses a fresh IV each time', () => {
    expect(seal(key, plain, 'snapshot:acme')).not.toBe(seal(key, plain, 'snapshot:acme'));
  });

  it('refuses another key (a destroyed key cannot be replaced by a new one)', () => {
    expect(() => open(newDataKey(), seal(key, plain, 'snapshot:acme'), 'snapshot:acme')).toThrow();
  });

  it('refuses another tenant context (a snapshot cannot be restored into another tenant)', () => {
    expect(() => open(key, seal(key, plain, 'snapshot:acme'), 'snapshot:globex')).toThrow();
  });

  it('refuses a flipped bit and a truncated blob', () => {
    const sealed = Buffer.from(seal(key, plain, 'snapshot:acme'), 'base64');
    sealed[sealed.length - 1] ^= 1;
    expect(() => open(key, sealed.toString('base64'), 'snapshot:acme')).toThrow();
    expect(() => open(key, sealed.subarray(0, 20).toString('base64'), 'snapshot:acme')).toThrow('truncated');
  });
});
