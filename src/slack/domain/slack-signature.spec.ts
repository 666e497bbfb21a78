import { slackSignature, verifySlackRequest } from './slack-signature';

// The example from Slack's "Verifying requests from Slack" guide: a known secret, timestamp, body and signature.
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const TS = '1531420618';
const BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const SIG = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

describe('Slack request signature', () => {
  it("matches Slack's published example", () => {
    expect(slackSignature(SECRET, TS, BODY)).toBe(SIG);
    expect(
      verifySlackRequest(SECRET, { signature: SIG, timestamp: TS }, Buffer.from(BODY), Number(TS) + 10),
    ).toEqual({
      ok: true,
    });
  });

  it('refuses a changed body, a wrong secret, a truncated or missing signature', () => {
    const now = Number(TS);
    const at = (sig: string | undefined, body = BODY, secret = SECRET) =>
      verifySlackRequest(secret, { signature: sig, timestamp: TS }, Buffer.from(body), now);
    expect(at(SIG, BODY.replace('roadrunner', 'coyote'))).toMatchObject({
      ok: false,
      code: 'SLACK.BAD_SIGNATURE',
    });
    expect(at(SIG, BODY, SECRET.replace('8', '9'))).toMatchObject({ ok: false, code: 'SLACK.BAD_SIGNATURE' });
    expect(at(SIG.slice(0, -2))).toMatchObject({ ok: false, code: 'SLACK.BAD_SIGNATURE' });
    expect(at(undefined)).toMatchObject({ ok: false, code: 'SLACK.SIGNATURE_MISSING' });
  });

  it('refuses a timestamp more than five minutes away, either way, even when correctly signed', () => {
    const sig = { signature: SIG, timestamp: TS };
    const body = Buffer.from(BODY);
    expect(verifySlackRequest(SECRET, sig, body, Number(TS) + 300).ok).toBe(true);
    expect(verifySlackRequest(SECRET, sig, body, Number(TS) + 301)).toMatchObject({
      ok: false,
      code: 'SLACK.TIMESTAMP_OUT_OF_RANGE',
    });
    expect(verifySlackRequest(SECRET, sig, body, Number(TS) - 301).ok).toBe(false);
    expect(
      verifySlackRequest(SECRET, { signature: SIG, timestamp: '15314206e3' }, body, Number(TS)),
    ).toMatchObject({ ok: false, code: 'SLACK.TIMESTAMP_OUT_OF_RANGE' });
  });
});
