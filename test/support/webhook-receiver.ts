import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import type { Socket } from 'node:net';

// A real HTTP receiver for webhook e2e tests: records every request, answers as told, and can go away (connections
// refused) and come back on the same port.

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: unknown;
  at: number;
}

export type ReceiverMode = { status: number; body?: string; delayMs?: number };

export class WebhookReceiver {
  readonly received: Received[] = [];
  mode: ReceiverMode = { status: 200, body: 'ok' };
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: unknown = null;
        try {
          json = JSON.parse(body);
        } catch {
          json = null;
        }
        const mode = this.mode;
        const answer = () => {
          // Record only answered requests' arrival order, but at arrival time.
          res.statusCode = mode.status;
          res.end(mode.body ?? '');
        };
        this.received.push({ headers: req.headers, body, json, at: Date.now() });
        if (mode.delayMs) {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            answer();
          }, mode.delayMs);
          this.timers.add(timer);
        } else answer();
      });
    });
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
    return this;
  }

  /** Stops listening: further connections are refused until `start()` again (same port). */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  ofType(type: string): Received[] {
    return this.received.filter((r) => r.headers['wavegate-event-type'] === type);
  }
}

export async function waitFor<T>(
  what: string,
  fn: () => T | Promise<T>,
  timeoutMs = 15_000,
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const until = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < until) {
    last = await fn();
    if (last) return last as Exclude<T, false | null | undefined | 0 | ''>;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}
