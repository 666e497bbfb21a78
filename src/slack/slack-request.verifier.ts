import { Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { Clock } from '../common/clock';
import { notFound, unauthorized } from '../common/errors';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { SLACK_SIGNATURE_HEADER, SLACK_TIMESTAMP_HEADER, verifySlackRequest } from './domain/slack-signature';
import { SLACK_ERRORS } from './slack-links.service';

/**
 * The gate of Slack's requests: the raw body (kept as bytes by app.factory's parser for /api/slack/commands and
 * /api/slack/interactions) must carry Slack's `v0` signature made with the configured signing secret, with a
 * timestamp within 5 minutes of the injected clock. Only then is the form parsed. 401 naming the reason otherwise.
 */
@Injectable()
export class SlackRequestVerifier {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  verifiedForm(req: Request): URLSearchParams {
    const slack = this.config.slack;
    if (!slack)
      throw notFound(
        SLACK_ERRORS.NOT_CONFIGURED,
        'Slack is not set up on this Wavegate (WAVEGATE_SLACK_SIGNING_SECRET).',
      );
    const raw: unknown = req.body;
    const body = Buffer.isBuffer(raw) ? raw : Buffer.alloc(0);
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' ? v : undefined;
    };
    const verdict = verifySlackRequest(
      slack.signingSecret,
      { signature: header(SLACK_SIGNATURE_HEADER), timestamp: header(SLACK_TIMESTAMP_HEADER) },
      body,
      Math.floor(this.clock.now().getTime() / 1000),
    );
    if (!verdict.ok) throw unauthorized(verdict.code, verdict.reason);
    return new URLSearchParams(body.toString('utf8'));
  }
}
