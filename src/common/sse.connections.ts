import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';

const RETRY_MIN_MS = 250;
const RETRY_SPREAD_MS = 1_500;

/**
 * Open server-sent-event responses. A stream never ends by itself, so without this a graceful shutdown (SIGTERM,
 * `app.close()`) would wait forever for its clients; here every stream is ended before the server closes, and
 * clients reconnect (to another replica) with their Last-Event-ID.
 */
@Injectable()
export class SseConnections implements BeforeApplicationShutdown {
  private readonly streams = new Set<Response>();

  /** Starts an event stream on `res` and tracks it until the client goes away. */
  open(req: Request, res: Response): void {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    req.socket.setNoDelay(true);
    this.streams.add(res);
    req.on('close', () => this.streams.delete(res));
  }

  get size(): number {
    return this.streams.size;
  }

  /**
   * Ends every stream with a `retry:` hint: clients (EventSource, Unleash and Wavegate SDKs) reconnect after it, through
   * the load balancer to a replica that is still ready. The hint is spread over RETRY_SPREAD_MS so that the streams
   * of a replica do not all land on the others in the same instant.
   */
  beforeApplicationShutdown(): void {
    for (const res of this.streams) {
      const retry = RETRY_MIN_MS + Math.floor(Math.random() * RETRY_SPREAD_MS);
      res.end(`retry: ${retry}\n\n`);
    }
    this.streams.clear();
  }
}
