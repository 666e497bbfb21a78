import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { AuthService } from '../auth/auth.service';
import { DomainError, forbidden } from '../common/errors';
import { matchesRule, Principal } from '../common/principal';
import { SnapshotService } from '../flags/snapshot.service';
import { MetricsService } from '../health/metrics.service';
import { clientEnvironment } from './client-principal';
import { etagMatches } from './etag';

/** Where app.factory mounts the fast path. The Nest route of the same path stays the documented one (OpenAPI). */
export const CLIENT_FEATURES_PATH = '/api/client/features';

const API_TOKEN_RE = /^wg[acu]_[A-Za-z0-9_-]{43}$/;
const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,100}$/;
const STATUS_TEXT: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  500: 'Internal Server Error',
};

/** The API token in `Authorization`: bare (as Unleash SDKs send it) or as a bearer token; else null. */
export function apiTokenFrom(header: string | undefined): string | null {
  if (typeof header !== 'string') return null;
  const t = header.startsWith('Bearer ') ? header.slice(7).trim() : header;
  return API_TOKEN_RE.test(t) ? t : null;
}

/**
 * `GET /api/client/features` ahead of the Nest pipeline (docs/decisions/0004): the hottest route, polled by every
 * SDK, answered without Nest's router, guard, interceptors, body and cookie parsers or per-request pino logging
 * (requests are counted in `wavegate_client_features_requests_total` instead). Access control is the guard's,
 * applied here with the same pieces: AuthService's token cache (no database query while the token is cached),
 * `token:client` only, bound to an environment; the same 401/403 error bodies. A request this handler does not
 * own (another method, a sub-path, no API token: sessions and JWTs) goes on to the Nest route unchanged.
 */
@Injectable()
export class ClientFeaturesFastPath {
  private readonly logger = new Logger(ClientFeaturesFastPath.name);
  private readonly counted: Record<number, { inc(): void }>;

  constructor(
    private readonly auth: AuthService,
    private readonly snapshots: SnapshotService,
    metrics: MetricsService,
  ) {
    const requests = new Counter({
      name: 'wavegate_client_features_requests_total',
      help: 'GET /api/client/features answered by the fast path, by status',
      labelNames: ['status'] as const,
      registers: [metrics.registry],
    });
    this.counted = {};
    for (const s of [200, 304, 401, 403, 500]) this.counted[s] = requests.labels(String(s));
  }

  /** Whether the request is `GET /api/client/features` (query string allowed, as Express routes it). */
  owns(req: IncomingMessage): boolean {
    if (req.method !== 'GET') return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    return path === CLIENT_FEATURES_PATH || path === `${CLIENT_FEATURES_PATH}/`;
  }

  /** Answers an owned request; `next()` hands it to Express (no API token: sessions, JWTs, no credentials). */
  handle(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    const token = apiTokenFrom(req.headers.authorization);
    if (token === null) return next();
    this.auth.principalFromApiToken(token).then(
      (p) => this.serve(req, res, p),
      (e: unknown) => this.fail(req, res, e),
    );
  }

  private serve(req: IncomingMessage, res: ServerResponse, p: Principal): void {
    try {
      if (!matchesRule(p, 'token:client'))
        throw forbidden('AUTH.FORBIDDEN', 'This route needs one of: token:client');
      const env = clientEnvironment(p);
      const s = this.snapshots.get(env);
      if (!s) throw forbidden('CLIENT.UNKNOWN_ENVIRONMENT', `The token's environment ${env} does not exist`);
      res.setHeader('ETag', s.etag);
      res.setHeader('Cache-Control', 'no-cache');
      const inm = req.headers['if-none-match'];
      if (inm === s.etag || etagMatches(inm, s.etag)) {
        res.statusCode = 304;
        res.end();
        this.counted[304].inc();
        return;
      }
      res.statusCode = 200;
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Content-Length', s.body.length);
      res.end(s.body);
      this.counted[200].inc();
    } catch (e) {
      this.fail(req, res, e);
    }
  }

  /** The error body the global filter would write (`{statusCode, error, message, code, requestId}`). */
  private fail(req: IncomingMessage, res: ServerResponse, e: unknown): void {
    let statusCode = 500;
    let body: Record<string, unknown>;
    if (e instanceof DomainError && (e.kind === 'unauthorized' || e.kind === 'forbidden')) {
      statusCode = e.kind === 'unauthorized' ? 401 : 403;
      body = { statusCode, error: STATUS_TEXT[statusCode], message: e.message, code: e.code };
    } else {
      this.logger.error(`client features fast path: ${e instanceof Error ? e.stack : String(e)}`);
      body = { statusCode, error: STATUS_TEXT[500], message: 'Internal server error' };
    }
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID();
    body.requestId = requestId;
    if (res.headersSent) return void res.end();
    res.statusCode = statusCode;
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(body));
    this.counted[statusCode]?.inc();
  }
}

/**
 * The hook app.factory calls right after creating the application: the fast path becomes the HTTP server's request
 * listener, ahead of Express itself (and so of every middleware and of Nest's router); whatever it does not own is
 * passed to Express unchanged. Mounting it as the first Express middleware instead measured about 4x slower on
 * the 304 path (Express's own request setup and router; docs/benchmarks.md).
 */
export function mountClientApiFastPath(app: {
  get<T>(type: new (...args: never[]) => T): T;
  getHttpServer(): Server;
}): void {
  const fast = app.get(ClientFeaturesFastPath);
  const server = app.getHttpServer();
  const express = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  const rest = (req: IncomingMessage, res: ServerResponse) => {
    for (const l of express) l.call(server, req, res);
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (fast.owns(req)) fast.handle(req, res, () => rest(req, res));
    else rest(req, res);
  });
}
