import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Access, CurrentPrincipal } from '../common/auth.decorators';
import { forbidden } from '../common/errors';
import { SseConnections } from '../common/sse.connections';
import { Principal } from '../common/principal';
import { FlagMetricsService, parseErrorReports, parseMetrics } from '../flags/flag-metrics.service';
import { Snapshot, SnapshotService } from '../flags/snapshot.service';
import { SignalsService } from '../signals/signals.service';
import { clientEnvironment } from './client-principal';
import { etagMatches } from './etag';

export const HEARTBEAT_MS = 15_000;

function snapshotFor(snapshots: SnapshotService, p: Principal): Snapshot {
  const env = clientEnvironment(p);
  const s = snapshots.get(env);
  if (!s) throw forbidden('CLIENT.UNKNOWN_ENVIRONMENT', `The token's environment ${env} does not exist`);
  return s;
}

/** The Unleash client API: what every Unleash SDK reads and writes. Client tokens only, for their environment. */
@ApiTags('client')
@ApiBearerAuth()
@Controller('api/client')
export class ClientApiController {
  constructor(
    private readonly snapshots: SnapshotService,
    private readonly sse: SseConnections,
    private readonly metrics: FlagMetricsService,
    private readonly signals: SignalsService,
  ) {}

  /** The Unleash v2 features response, from the precomputed snapshot; 304 when `If-None-Match` has its ETag. */
  @Get('features')
  @Access('token:client')
  features(@CurrentPrincipal() p: Principal, @Req() req: Request, @Res() res: Response): void {
    const s = snapshotFor(this.snapshots, p);
    res.setHeader('ETag', s.etag);
    res.setHeader('Cache-Control', 'no-cache');
    if (etagMatches(req.headers['if-none-match'], s.etag)) {
      res.status(304).end();
      return;
    }
    res.status(200).setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(s.body);
  }

  @Post('register')
  @HttpCode(202)
  @Access('token:client')
  async register(@CurrentPrincipal() p: Principal, @Body() body: unknown): Promise<void> {
    await this.metrics.register(clientEnvironment(p), body);
  }

  /** Unleash metrics buckets: `{appName, instanceId, bucket: {start, stop, toggles: {flag: {yes, no, variants}}}}`. */
  @Post('metrics')
  @HttpCode(202)
  @Access('token:client')
  async clientMetrics(@CurrentPrincipal() p: Principal, @Body() body: unknown): Promise<void> {
    await this.metrics.record(clientEnvironment(p), parseMetrics(body));
  }

  /**
   * SDK error reports: `{appName?, errors: [{flag, tenantId?, count, message}]}`; each is a signal for the flag in
   * the token's environment, so it halts only CRs that change the flag in that environment (ADR 0007).
   */
  @Post('errors')
  @HttpCode(202)
  @Access('token:client')
  reportErrors(@CurrentPrincipal() p: Principal, @Body() body: unknown) {
    const batch = parseErrorReports(body);
    const environment = clientEnvironment(p);
    return this.metrics.recordErrors(environment, p.id, batch, (tx, g) =>
      this.signals.record(tx, {
        source: 'sdk',
        severity: 'error',
        message: g.message,
        flagKey: g.flagKey,
        tenantId: g.tenantId,
        environment,
        count: g.count,
        recordedBy: `token:${p.id}`,
      }),
    );
  }

  /**
   * Server-sent events: the full configuration on connect (`unleash-connected`), then `unleash-updated` whenever
   * the snapshot changes; the event id is the ETag, so a client that reconnects with `Last-Event-ID` set to the
   * current ETag is not sent the configuration again. `/api/client/streaming` is the path Unleash SDKs use.
   */
  @Get(['stream', 'streaming'])
  @Access('token:client')
  stream(@CurrentPrincipal() p: Principal, @Req() req: Request, @Res() res: Response): void {
    const first = snapshotFor(this.snapshots, p);
    this.sse.open(req, res);
    req.socket.setKeepAlive(true);
    let lastSent = req.headers['last-event-id'];
    const send = (event: string, s: Snapshot) => {
      if (s.etag === lastSent) return;
      lastSent = s.etag;
      res.write(`event: ${event}\nid: ${s.etag}\ndata: ${s.body.toString('utf8')}\n\n`);
    };
    res.write('retry: 2000\n\n');
    send('unleash-connected', first);
    const unsubscribe = this.snapshots.subscribe(first.environment, (s) => send('unleash-updated', s));
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    req.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  }
}
