import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Access, CurrentPrincipal } from '../common/auth.decorators';
import { badRequest, notFound } from '../common/errors';
import { AccessRule, Principal, READERS } from '../common/principal';
import { TransactionRunner } from '../common/transaction';
import { EventsDispatcher } from '../events/events.dispatcher';
import { EventsService, FeedEvent } from '../events/events.service';
import { ErasureReceiptEntity, TenantKeyEntity, TenantSnapshotEntity } from '../snapshots/snapshot.entity';
import { TenantEntity } from '../tenants/tenant.entity';
import { ListTargetsQueryDto, RolloutCommandDto } from './dto/rollout.dto';
import { RolloutsService } from './rollouts.service';
import { Clock } from '../common/clock';

// Operators may start and steer a rollout; which of them may do what (a halted CR needs a non-author checker to
// resume) is the lifecycle's decision, not the route's.
const OPERATORS: AccessRule[] = ['maker', 'checker', 'admin'];

@ApiTags('rollouts')
@ApiBearerAuth()
@Controller('api')
export class RolloutsController {
  constructor(
    private readonly rollouts: RolloutsService,
    private readonly events: EventsService,
    private readonly dispatcher: EventsDispatcher,
    private readonly tx: TransactionRunner,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  @Post('change-requests/:id/pause')
  @HttpCode(200)
  @Access(...OPERATORS)
  async pause(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() dto: RolloutCommandDto) {
    await this.rollouts.command(id, p, 'pause', dto.reason);
    return this.status(id);
  }

  @Post('change-requests/:id/resume')
  @HttpCode(200)
  @Access(...OPERATORS)
  async resume(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() dto: RolloutCommandDto) {
    await this.rollouts.command(id, p, 'resume', dto.reason);
    return this.status(id);
  }

  @Post('change-requests/:id/halt')
  @HttpCode(200)
  @Access(...OPERATORS)
  async halt(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() dto: RolloutCommandDto) {
    await this.rollouts.command(id, p, 'halt', dto.reason ?? 'halted by an operator');
    return this.status(id);
  }

  @Post('change-requests/:id/abort')
  @HttpCode(200)
  @Access(...OPERATORS)
  async abort(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() dto: RolloutCommandDto) {
    await this.rollouts.command(id, p, 'abort', dto.reason);
    return this.status(id);
  }

  @Post('change-requests/:id/rollback')
  @HttpCode(202)
  @Access(...OPERATORS)
  async rollback(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() dto: RolloutCommandDto) {
    await this.rollouts.command(id, p, 'rollback', dto.reason);
    return this.status(id);
  }

  /** Rollout progress alone (the CR's GET embeds the same). */
  @Get('change-requests/:id/progress')
  @Access(...READERS)
  progress(@Param('id') id: string) {
    return this.status(id);
  }

  /** The signals that concern the CR's rollout (ADR 0007's rule), newest first: what the halt policy judges. */
  @Get('change-requests/:id/signals')
  @Access(...READERS)
  signals(@Param('id') id: string) {
    return this.rollouts.signals(id);
  }

  @Get('change-requests/:id/targets')
  @Access(...READERS)
  targets(@Param('id') id: string, @Query() q: ListTargetsQueryDto) {
    return this.rollouts.targets(id, q);
  }

  /**
   * SSE: the CR's progress events (`change_request.*`), `id:` = the outbox seq. A client that reconnects with
   * `Last-Event-ID` gets every event after it first, then live ones; a new client first gets a `progress` event.
   */
  @Get('change-requests/:id/stream')
  @Access(...READERS)
  async stream(
    @Param('id') id: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    let after: number | null = null;
    if (lastEventId !== undefined && lastEventId !== '') {
      if (!/^\d{1,15}$/.test(lastEventId)) {
        throw badRequest('STREAM.BAD_LAST_EVENT_ID', 'Last-Event-ID: must be an event id from this stream', [
          { field: 'Last-Event-ID', reason: 'must be an event id from this stream' },
        ]);
      }
      after = Number(lastEventId);
    }
    // Order matters: the head first, then the progress (at least as new), then the subscription, then a replay from
    // the head, so that no event committed in between is lost (a repeated one is harmless: ids are seqs).
    const head = await this.events.headSeq();
    const status = await this.status(id);
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    const send = (e: FeedEvent) => {
      if (e.entityType !== 'change_request' || e.entityId !== id) return;
      res.write(
        `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify({ ...e.data, type: e.type, at: e.occurredAt })}\n\n`,
      );
    };
    // Live events are buffered while the backlog is replayed, then deduplicated by seq.
    let replaying = true;
    let lastSent = after ?? head;
    const buffered: FeedEvent[] = [];
    const unsubscribe = this.dispatcher.listen((e) => {
      if (replaying) buffered.push(e);
      else if (e.seq > lastSent) {
        lastSent = e.seq;
        send(e);
      }
    });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    heartbeat.unref();
    req.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
    if (after === null) {
      res.write(`event: progress\ndata: ${JSON.stringify({ ...status, at: this.clock.now() })}\n\n`);
    }
    for (;;) {
      const batch = await this.events.after(lastSent, 500);
      for (const e of batch) {
        lastSent = e.seq;
        send(e);
      }
      if (batch.length < 500) break;
    }
    replaying = false;
    for (const e of buffered) {
      if (e.seq > lastSent) {
        lastSent = e.seq;
        send(e);
      }
    }
  }

  /** The tenant's snapshots (what was kept before each destructive step): metadata only, never the contents. */
  @Get('tenants/:id/snapshots')
  @Access(...READERS)
  async snapshots(@Param('id') id: string) {
    return this.tx.read(async (m) => {
      if (!(await m.exists(TenantEntity, { where: { id } })))
        throw notFound('TENANT.NOT_FOUND', `No tenant "${id}"`);
      const rows = await m.find(TenantSnapshotEntity, {
        where: { tenantId: id },
        order: { createdAt: 'DESC', id: 'ASC' },
        select: { id: true, changeRequestId: true, reason: true, hash: true, createdAt: true },
      });
      const key = await m.findOne(TenantKeyEntity, { where: { tenantId: id } });
      // After a purge the key is destroyed: any snapshot left anywhere (a backup) can no longer be decrypted.
      const readable = key !== null && key.destroyedAt === null;
      return {
        items: rows.map((r) => ({
          id: r.id,
          changeRequestId: r.changeRequestId,
          operation: r.reason,
          sha256: r.hash,
          at: r.createdAt,
          readable,
        })),
      };
    });
  }

  @Get('tenants/:id/erasure-receipt')
  @Access(...READERS)
  async erasureReceipt(@Param('id') id: string) {
    const row = await this.tx.run((tx) =>
      tx.manager.findOne(ErasureReceiptEntity, { where: { tenantId: id } }),
    );
    if (!row)
      throw notFound('TENANT.NO_ERASURE_RECEIPT', `tenant ${id} has no erasure receipt (it was not purged)`);
    return row.receipt;
  }

  private async status(id: string) {
    const cr = await this.rollouts.statusOf(id);
    const progress = await this.rollouts.progress(id);
    return { id, status: cr.status, statusReason: cr.statusReason, ...(progress ?? { waves: [] }) };
  }
}
