// Slack routes (ADR 0017). For people in the UI: their link (GET), a one-time link code (POST), removing the link
// (DELETE). For Slack: the slash command and the interactivity Request URL, which carry no Wavegate identity and are
// authenticated by Slack's `v0` signature over the raw body instead (verified before anything is read).
import { Controller, Delete, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Access, CurrentPrincipal, Public } from '../common/auth.decorators';
import { Principal } from '../common/principal';
import { SlackInteractionsService } from './slack-interactions.service';
import { SlackLinksService } from './slack-links.service';
import { SlackRequestVerifier } from './slack-request.verifier';

const PEOPLE = ['viewer', 'maker', 'checker', 'admin'] as const;

@ApiTags('slack')
@Controller('api/slack')
export class SlackController {
  constructor(
    private readonly links: SlackLinksService,
    private readonly interactions: SlackInteractionsService,
    private readonly verifier: SlackRequestVerifier,
  ) {}

  @Get('link')
  @ApiBearerAuth()
  @Access(...PEOPLE)
  link(@CurrentPrincipal() p: Principal) {
    return this.links.status(p);
  }

  /** A one-time code (shown once, valid 10 minutes) to send from Slack as `/wavegate link <code>`. */
  @Post('link-code')
  @HttpCode(201)
  @ApiBearerAuth()
  @Access(...PEOPLE)
  linkCode(@CurrentPrincipal() p: Principal) {
    return this.links.createCode(p);
  }

  @Delete('link')
  @HttpCode(204)
  @ApiBearerAuth()
  @Access(...PEOPLE)
  async unlink(@CurrentPrincipal() p: Principal): Promise<void> {
    await this.links.unlink(p);
  }

  /** Slack's slash command (`/wavegate link|unlink|whoami`); signed by Slack, answered in Slack's format. */
  @Post('commands')
  @HttpCode(200)
  @Public()
  @ApiExcludeEndpoint()
  command(@Req() req: Request) {
    return this.interactions.command(this.verifier.verifiedForm(req));
  }

  /** Slack's interactivity Request URL (the Approve / Reject buttons); signed by Slack. */
  @Post('interactions')
  @HttpCode(200)
  @Public()
  @ApiExcludeEndpoint()
  interaction(@Req() req: Request) {
    return this.interactions.interaction(this.verifier.verifiedForm(req));
  }
}
