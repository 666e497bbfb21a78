// Slack's request signature (https://api.slack.com/authentication/verifying-requests-from-slack):
// `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:<X-Slack-Request-Timestamp>:<raw body>")>`.
// Pure: the caller passes the raw body bytes as received and the current time.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SLACK_SIGNATURE_HEADER = 'x-slack-signature';
export const SLACK_TIMESTAMP_HEADER = 'x-slack-request-timestamp';
/** Slack's own advice: refuse requests older (or newer) than five minutes, so a captured one cannot be replayed. */
export const SLACK_TOLERANCE_SECONDS = 300;

export type SlackVerdict =
  | { ok: true }
  | {
      ok: false;
      code: 'SLACK.SIGNATURE_MISSING' | 'SLACK.TIMESTAMP_OUT_OF_RANGE' | 'SLACK.BAD_SIGNATURE';
      reason: string;
    };

export function slackSignature(secret: string, timestamp: string, rawBody: Buffer | string): string {
  const mac = createHmac('sha256', secret);
  mac.update(`v0:${timestamp}:`);
  mac.update(rawBody);
  return `v0=${mac.digest('hex')}`;
}

export function verifySlackRequest(
  secret: string,
  headers: { signature?: string; timestamp?: string },
  rawBody: Buffer,
  nowSeconds: number,
  toleranceSeconds = SLACK_TOLERANCE_SECONDS,
): SlackVerdict {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp) {
    return {
      ok: false,
      code: 'SLACK.SIGNATURE_MISSING',
      reason: 'The request has no X-Slack-Signature or X-Slack-Request-Timestamp header.',
    };
  }
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) {
    return {
      ok: false,
      code: 'SLACK.TIMESTAMP_OUT_OF_RANGE',
      reason: `X-Slack-Request-Timestamp is not within ${toleranceSeconds / 60} minutes of now; the request is refused as a possible replay.`,
    };
  }
  const expected = Buffer.from(slackSignature(secret, timestamp, rawBody));
  const given = Buffer.from(signature);
  // Lengths first: timingSafeEqual throws on unequal lengths, and a length says nothing about the secret.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return {
      ok: false,
      code: 'SLACK.BAD_SIGNATURE',
      reason: "X-Slack-Signature does not match the request signed with the Slack app's signing secret.",
    };
  }
  return { ok: true };
}
