// What Slack's signed requests do (ADR 0017): the `/wavegate` slash command (link, unlink, whoami) and the Approve /
// Reject buttons of a change request's message. A button acts as the Wavegate user the Slack user linked, through
// the same command path as the REST routes (ChangeRequestsService.command), so every rule holds: the checker role,
// no self-approval, the exact plan hash, quorum, expiry. Every outcome is answered as an ephemeral Slack message.
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ChangeRequestsService } from '../change-requests/change-requests.service';
import { CR_ERROR_CODES } from '../change-requests/domain/lifecycle';
import { CHANGE_REQUEST_ERRORS } from '../change-requests/change-request.errors';
import { DomainError } from '../common/errors';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { changeRequestUrl, escapeMrkdwn } from '../webhooks/domain/payload.formatter';
import {
  ButtonAction,
  ephemeral,
  parseInteraction,
  parseSlashCommand,
  shortHash,
  SlackAnswer,
  SlashCommand,
} from './domain/slack-interaction';
import { SlackLinksService } from './slack-links.service';

const RESPONSE_TIMEOUT_MS = 5_000;

@Injectable()
export class SlackInteractionsService {
  private readonly logger = new Logger(SlackInteractionsService.name);

  constructor(
    private readonly links: SlackLinksService,
    private readonly crs: ChangeRequestsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private get profileUrl(): string {
    return `${this.config.publicUrl}/ui/profile`;
  }

  async command(form: URLSearchParams): Promise<SlackAnswer> {
    const c = parseSlashCommand(form);
    if (!c) return ephemeral('Wavegate could not tell which Slack user sent this command.');
    switch (c.verb) {
      case 'link':
        return this.link(c);
      case 'unlink': {
        const user = await this.links.unlinkFromSlack(c);
        return ephemeral(
          user
            ? `Unlinked: your Slack user no longer acts as *${escapeMrkdwn(user.name)}* in Wavegate.`
            : 'Your Slack user was not linked to a Wavegate user; nothing to remove.',
        );
      }
      case 'whoami': {
        const { principal, linked } = await this.links.principalFor(c);
        if (principal?.kind === 'user')
          return ephemeral(
            `Your Slack user acts as *${escapeMrkdwn(principal.name)}* (${escapeMrkdwn(principal.email)}) in Wavegate.`,
          );
        return ephemeral(
          linked ? 'Your Slack user is linked to a disabled Wavegate user.' : this.notLinkedText(),
        );
      }
      default:
        return ephemeral(
          [
            '*Wavegate* commands:',
            '• `/wavegate link <code>` links your Slack user to your Wavegate user (create the code in Wavegate under ' +
              `<${this.profileUrl}|Profile → Slack>)`,
            '• `/wavegate unlink` removes the link',
            '• `/wavegate whoami` says which Wavegate user your Slack buttons act as',
          ].join('\n'),
        );
    }
  }

  private async link(c: SlashCommand): Promise<SlackAnswer> {
    if (!c.argument)
      return ephemeral(
        `Send the code from <${this.profileUrl}|Profile → Slack> in Wavegate: \`/wavegate link <code>\`.`,
      );
    const out = await this.links.linkFromSlack(c, c.argument);
    if (out.ok) {
      return ephemeral(
        `:link: Linked: your Slack user now acts as *${escapeMrkdwn(out.user.name)}* (${escapeMrkdwn(out.user.email)}) ` +
          'in Wavegate. The Approve and Reject buttons on Wavegate messages act as them. `/wavegate unlink` removes the link.',
      );
    }
    switch (out.reason) {
      case 'bad_code':
        return ephemeral(
          'That link code is unknown or expired (a code works once, for 10 minutes). Create a new one in Wavegate under ' +
            `<${this.profileUrl}|Profile → Slack>. Nothing was linked.`,
        );
      case 'taken':
        return ephemeral(
          `Your Slack user is already linked to *${escapeMrkdwn(out.linkedTo ?? 'another Wavegate user')}*. ` +
            'Send `/wavegate unlink` first if you mean to change it. Nothing was linked.',
        );
      case 'disabled':
        return ephemeral('The Wavegate user who created this code is disabled. Nothing was linked.');
    }
  }

  async interaction(form: URLSearchParams): Promise<SlackAnswer> {
    const parsed = parseInteraction(form);
    if (parsed.kind === 'ignored') return ephemeral(`Wavegate ignored this interaction: ${parsed.reason}.`);
    const answer = await this.button(parsed.action);
    this.respond(parsed.action.responseUrl, answer);
    return answer;
  }

  private notLinkedText(): string {
    return (
      'Your Slack user is not linked to a Wavegate user, so Wavegate cannot tell who you are there. In Wavegate, open ' +
      `<${this.profileUrl}|Profile → Slack>, create a link code and send \`/wavegate link <code>\` here.`
    );
  }

  private async button(a: ButtonAction): Promise<SlackAnswer> {
    const verb = a.action === 'approve' ? 'approved' : 'rejected';
    const nothing = `Nothing was ${verb}.`;
    const url = changeRequestUrl(this.config.publicUrl, a.value.id);
    const { principal, linked } = await this.links.principalFor(a);
    if (!principal)
      return ephemeral(
        linked
          ? `The Wavegate user linked to your Slack user is disabled. ${nothing}`
          : `${this.notLinkedText()} ${nothing}`,
      );
    if (a.action === 'reject' && !a.reason) {
      return ephemeral(
        `Say why you reject: type the reason in the *Reason* box of the message, then press Reject again. ${nothing}`,
      );
    }
    try {
      const cr = (await this.crs.command(
        principal,
        a.value.id,
        a.action === 'approve'
          ? { type: 'approve', planHash: a.value.planHash }
          : { type: 'reject', comment: a.reason, planHash: a.value.planHash },
      )) as { title: string; status: string; requiredApprovals: number; approvalCount: number };
      const link = `*<${url}|${escapeMrkdwn(cr.title)}>*`;
      if (a.action === 'reject')
        return ephemeral(
          `:x: You rejected ${link} as ${escapeMrkdwn(principal.name)}. It is now *rejected*.`,
        );
      const count = `${cr.approvalCount} of ${cr.requiredApprovals} approvals`;
      return ephemeral(
        cr.status === 'approved'
          ? `:white_check_mark: You approved ${link} (plan \`${shortHash(a.value.planHash)}\`) as ${escapeMrkdwn(principal.name)}. ` +
              `It has ${count} and is now *approved*.`
          : `:+1: Your approval of ${link} (plan \`${shortHash(a.value.planHash)}\`) as ${escapeMrkdwn(principal.name)} ` +
              `is recorded: ${count}; it needs ${cr.requiredApprovals - cr.approvalCount} more.`,
      );
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      return ephemeral(this.refusal(e, a, url, nothing));
    }
  }

  private refusal(e: DomainError, a: ButtonAction, url: string, nothing: string): string {
    const open = `<${url}|Open the change request>`;
    switch (e.code) {
      case CR_ERROR_CODES.STALE_PLAN: {
        const current = /current plan hash ([0-9a-f]{64})/.exec(e.details?.[0]?.reason ?? '')?.[1];
        return (
          `:warning: The plan changed since this message was posted: it showed plan \`${shortHash(a.value.planHash)}\`` +
          `${current ? `, the plan now is \`${shortHash(current)}\`` : ''}. ${nothing} Review the current plan: ${open}.`
        );
      }
      case CHANGE_REQUEST_ERRORS.NOT_FOUND:
        return `:grey_question: That change request does not exist (any more). ${nothing}`;
      default:
        return `:no_entry: ${escapeMrkdwn(e.message)} ${nothing} ${open}.`;
    }
  }

  // Slack shows a button's answer only when it is posted to the payload's response_url; the HTTP answer is
  // ignored for buttons. Only the configured origins are trusted (the URL arrives in a signed request, but a
  // server that POSTs wherever a body says is a server that can be aimed).
  private respond(responseUrl: string | undefined, answer: SlackAnswer): void {
    if (!responseUrl || !this.config.slack) return;
    let origin: string;
    try {
      origin = new URL(responseUrl).origin;
    } catch {
      return;
    }
    if (!this.config.slack.responseOrigins.includes(origin)) {
      this.logger.warn(`Slack response_url at ${origin} is not an allowed origin; answer not posted`);
      return;
    }
    fetch(responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(answer),
      redirect: 'error',
      signal: AbortSignal.timeout(RESPONSE_TIMEOUT_MS),
    })
      .then(async (res) => {
        if (!res.ok) this.logger.warn(`Slack response_url answered ${res.status}`);
        await res.body?.cancel();
      })
      .catch((err: unknown) => this.logger.warn(`Slack response_url not reached: ${String(err)}`));
  }
}
