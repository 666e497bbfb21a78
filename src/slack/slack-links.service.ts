// The link between a Slack user and a Wavegate user (ADR 0017), made once and proven from both sides: the signed-in
// person creates a one-time code in the UI (stored as a SHA-256, valid 10 minutes, one per person), and sends it from
// Slack with the signed slash command, which records that Slack team and user for them. Either side can remove it.
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { conflict, forbidden } from '../common/errors';
import { Principal } from '../common/principal';
import { TransactionRunner, Tx } from '../common/transaction';
import { UserEntity } from '../users/user.entity';
import {
  LINK_CODE_TTL_MS,
  linkCodeHash,
  newLinkCode,
  normalizeLinkCode,
  SlackPerson,
} from './domain/slack-interaction';
import { SlackLinkCodeEntity, SlackLinkEntity } from './slack-link.entity';

export interface SlackLinkView {
  slackTeamId: string;
  slackTeamDomain: string | null;
  slackUserId: string;
  slackUserName: string | null;
  createdAt: Date;
}

export interface SlackLinkStatus {
  /** Whether this Wavegate has a Slack signing secret (WAVEGATE_SLACK_SIGNING_SECRET); the secret itself never. */
  configured: boolean;
  link: SlackLinkView | null;
  /** When the person's unused link code stops working (the code itself is shown once, when created). */
  pendingCodeExpiresAt: Date | null;
}

export type LinkOutcome =
  | { ok: true; user: UserEntity; replaced: boolean }
  | { ok: false; reason: 'bad_code' | 'taken' | 'disabled'; linkedTo?: string };

const view = (l: SlackLinkEntity): SlackLinkView => ({
  slackTeamId: l.slackTeamId,
  slackTeamDomain: l.slackTeamDomain,
  slackUserId: l.slackUserId,
  slackUserName: l.slackUserName,
  createdAt: l.createdAt,
});

export const SLACK_ERRORS = {
  NOT_CONFIGURED: 'SLACK.NOT_CONFIGURED',
  PEOPLE_ONLY: 'SLACK.PEOPLE_ONLY',
} as const;

@Injectable()
export class SlackLinksService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tx: TransactionRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private personOf(p: Principal): string {
    if (p.kind !== 'user')
      throw forbidden(SLACK_ERRORS.PEOPLE_ONLY, 'A Slack link belongs to a person; API tokens have none.');
    return p.id;
  }

  async status(p: Principal): Promise<SlackLinkStatus> {
    const userId = this.personOf(p);
    const m = this.dataSource.manager;
    const [link, code] = await Promise.all([
      m.findOne(SlackLinkEntity, { where: { userId } }),
      m.findOne(SlackLinkCodeEntity, { where: { userId } }),
    ]);
    const now = Date.now();
    return {
      configured: this.config.slack !== undefined,
      link: link ? view(link) : null,
      pendingCodeExpiresAt: code && code.expiresAt.getTime() > now ? code.expiresAt : null,
    };
  }

  /** A new one-time code for the signed-in person (any earlier unused code stops working). Shown once. */
  async createCode(p: Principal): Promise<{ code: string; expiresAt: Date; command: string }> {
    const userId = this.personOf(p);
    if (!this.config.slack) {
      throw conflict(
        SLACK_ERRORS.NOT_CONFIGURED,
        'Slack is not set up on this Wavegate: an administrator sets WAVEGATE_SLACK_SIGNING_SECRET (docs/webhooks.md).',
      );
    }
    const code = newLinkCode();
    const expiresAt = await this.tx.run(async (tx) => {
      const until = new Date(tx.now.getTime() + LINK_CODE_TTL_MS);
      await tx.manager.delete(SlackLinkCodeEntity, { userId });
      await tx.manager.insert(SlackLinkCodeEntity, {
        id: randomUUID(),
        userId,
        codeSha256: linkCodeHash(code),
        expiresAt: until,
        createdAt: tx.now,
      });
      tx.audit({
        actor: `user:${userId}`,
        action: 'slack.link_code_created',
        entityType: 'user',
        entityId: userId,
        data: { expiresAt: until.toISOString() },
      });
      return until;
    });
    return { code, expiresAt, command: `/wavegate link ${code}` };
  }

  /** Removes the signed-in person's link (from the UI). */
  async unlink(p: Principal): Promise<boolean> {
    const userId = this.personOf(p);
    return this.tx.run(async (tx) => {
      const link = await tx.manager.findOne(SlackLinkEntity, { where: { userId } });
      if (!link) return false;
      await this.remove(tx, link, `user:${userId}`);
      return true;
    });
  }

  /** The slash command `link <code>`: the signature proved the Slack user, the code proves the Wavegate user. */
  async linkFromSlack(slack: SlackPerson, typedCode: string): Promise<LinkOutcome> {
    const canonical = normalizeLinkCode(typedCode);
    if (!canonical) return { ok: false, reason: 'bad_code' };
    return this.tx.run(async (tx): Promise<LinkOutcome> => {
      const code = await tx.manager.findOne(SlackLinkCodeEntity, {
        where: { codeSha256: linkCodeHash(canonical) },
      });
      if (!code || code.expiresAt.getTime() <= tx.now.getTime()) return { ok: false, reason: 'bad_code' };
      const user = await tx.manager.findOne(UserEntity, { where: { id: code.userId } });
      if (!user || user.disabled) return { ok: false, reason: 'disabled' };
      const taken = await tx.manager.findOne(SlackLinkEntity, {
        where: { slackTeamId: slack.teamId, slackUserId: slack.userId },
      });
      // Never take over a Slack user someone else linked: they unlink first (from Slack or their own UI).
      if (taken && taken.userId !== user.id) {
        const other = await tx.manager.findOne(UserEntity, { where: { id: taken.userId } });
        return { ok: false, reason: 'taken', linkedTo: other?.name ?? 'another Wavegate user' };
      }
      const previous = await tx.manager.findOne(SlackLinkEntity, { where: { userId: user.id } });
      if (previous) await this.remove(tx, previous, `user:${user.id}`);
      await tx.manager.delete(SlackLinkCodeEntity, { id: code.id });
      await tx.manager.insert(SlackLinkEntity, {
        id: randomUUID(),
        slackTeamId: slack.teamId,
        slackUserId: slack.userId,
        slackTeamDomain: slack.teamDomain ?? null,
        slackUserName: slack.userName ?? null,
        userId: user.id,
        createdAt: tx.now,
      });
      tx.audit({
        actor: `user:${user.id}`,
        action: 'slack.linked',
        entityType: 'user',
        entityId: user.id,
        data: { slackTeamId: slack.teamId, slackUserId: slack.userId },
      });
      return { ok: true, user, replaced: Boolean(previous) };
    });
  }

  /** The slash command `unlink`: removes the link of the Slack user who sent it. */
  async unlinkFromSlack(slack: SlackPerson): Promise<UserEntity | null> {
    return this.tx.run(async (tx) => {
      const link = await tx.manager.findOne(SlackLinkEntity, {
        where: { slackTeamId: slack.teamId, slackUserId: slack.userId },
      });
      if (!link) return null;
      await this.remove(tx, link, `user:${link.userId}`);
      return tx.manager.findOne(UserEntity, { where: { id: link.userId } });
    });
  }

  /** The Wavegate user a Slack user linked, as a principal with the roles they hold now; null when none or disabled. */
  async principalFor(slack: SlackPerson): Promise<{ principal: Principal | null; linked: boolean }> {
    const m = this.dataSource.manager;
    const link = await m.findOne(SlackLinkEntity, {
      where: { slackTeamId: slack.teamId, slackUserId: slack.userId },
    });
    if (!link) return { principal: null, linked: false };
    const user = await m.findOne(UserEntity, { where: { id: link.userId } });
    if (!user || user.disabled) return { principal: null, linked: true };
    return {
      linked: true,
      principal: { kind: 'user', id: user.id, email: user.email, name: user.name, roles: user.roles },
    };
  }

  private async remove(tx: Tx, link: SlackLinkEntity, actor: string): Promise<void> {
    await tx.manager.delete(SlackLinkEntity, { id: link.id });
    tx.audit({
      actor,
      action: 'slack.unlinked',
      entityType: 'user',
      entityId: link.userId,
      data: { slackTeamId: link.slackTeamId, slackUserId: link.slackUserId },
    });
  }
}
