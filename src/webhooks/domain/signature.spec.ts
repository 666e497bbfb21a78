import { createHmac } from 'node:crypto';
import { sign, verify } from './signature';

describe('webhook signature', () => {
  const body = '{"id":"e1","type":"change_request.approved"}';
  const secret = 'whsec_test';

  it('is t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const mac = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(sign(secret, body, 1700000000)).toBe(`t=1700000000,v1=${mac}`);
  });

  it('verifies within 5 minutes and refuses older, tampered or foreign-secret deliveries', () => {
    const h = sign(secret, body, 1700000000);
    expect(verify(h, body, secret, 1700000000 + 299)).toEqual({ ok: true, timestamp: 1700000000 });
    expect(verify(h, body, secret, 1700000000 + 301)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/tolerance/),
    });
    expect(verify(h, body.replace('approved', 'rejected'), secret, 1700000000)).toMatchObject({ ok: false });
    expect(verify(h, body, 'other', 1700000000)).toMatchObject({ ok: false });
    expect(verify(undefined, body, secret, 1700000000)).toMatchObject({ ok: false });
    expect(verify('garbage', body, secret, 1700000000)).toMatchObject({ ok: false });
  });

  it('cannot be replayed with a new timestamp', () => {
    const h = sign(secret, body, 1700000000);
    const forged = h.replace('t=1700000000', 't=1700000600');
    expect(verify(forged, body, secret, 1700000600)).toMatchObject({
      ok: false,
      reason: 'signature mismatch',
    });
  });
});
