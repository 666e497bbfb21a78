// Approve from Slack (issue 15, ADR 0017): the Slack link, the signed slash command and the signed buttons.
import { Module } from '@nestjs/common';
import { ChangeRequestsModule } from '../change-requests/change-requests.module';
import { SlackController } from './slack.controller';
import { SlackInteractionsService } from './slack-interactions.service';
import { SlackLinksService } from './slack-links.service';
import { SlackRequestVerifier } from './slack-request.verifier';

@Module({
  imports: [ChangeRequestsModule],
  controllers: [SlackController],
  providers: [SlackLinksService, SlackInteractionsService, SlackRequestVerifier],
})
export class SlackModule {}
