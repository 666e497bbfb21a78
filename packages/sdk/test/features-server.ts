import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClientFeaturesResponse } from '@wavegate/evaluation';

// A small real HTTP server speaking the Unleash client API the way Wavegate serves it (features with ETag,
// an SSE stream with the full configuration on connect and on every change, metrics, register, errors),
// so that the SDK's unit tests exercise real sockets, real fetch and real stream parsing.
export class FeaturesServer {
  readonly posts: { path: string; body: unknown }[] = [];
  readonly requests: { method: string; path: string; ifNoneMatch?: string; status: number }[] = [];
  streamAvailable = true;
  // 404 on the stream path, as a server without streaming answers.
  streamMissing = false;
  // Status codes to answer the next POSTs to a path with, before answering normally.
  readonly failPosts = new Map<string, number[]>();
  private config: ClientFeaturesResponse;
  private readonly streams = new Set<ServerResponse>();
  private server: Server | undefined;
  url = '';

  constructor(
    config: ClientFeaturesResponse,
    readonly token = 'client-token-1',
  ) {
    this.config = config;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  get etag(): string {
    return `"${createHash('sha256').update(JSON.stringify(this.config)).digest('hex').slice(0, 16)}"`;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  setConfig(config: ClientFeaturesResponse): void {
    this.config = config;
    for (const res of this.streams) res.write(`event: unleash-updated\ndata: ${JSON.stringify(config)}\n\n`);
  }

  // Sends an arbitrary event to every open stream (e.g. Unleash delta events).
  pushRaw(event: string, data: unknown): void {
    for (const res of this.streams) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  // Destroys every open stream connection, as a proxy or a network fault would.
  cutStreams(): void {
    for (const res of this.streams) res.socket?.destroy();
    this.streams.clear();
  }

  postsTo(path: string): unknown[] {
    return this.posts.filter((p) => p.path === path).map((p) => p.body);
  }

  count(path: string, status?: number): number {
    return this.requests.filter((r) => r.path === path && (status === undefined || r.status === status))
      .length;
  }

  async close(): Promise<void> {
    this.cutStreams();
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const record = (status: number) =>
      this.requests.push({
        method: req.method ?? 'GET',
        path,
        status,
        ...(req.headers['if-none-match'] ? { ifNoneMatch: String(req.headers['if-none-match']) } : {}),
      });
    const auth = req.headers.authorization;
    if (auth !== this.token && auth !== `Bearer ${this.token}`) {
      record(401);
      res
        .writeHead(401, { 'Content-Type': 'application/json' })
        .end('{"statusCode":401,"message":"bad token"}');
      return;
    }
    if (req.method === 'GET' && path === '/api/client/features') {
      const etag = this.etag;
      if (req.headers['if-none-match'] === etag) {
        record(304);
        res.writeHead(304, { ETag: etag }).end();
        return;
      }
      record(200);
      res.writeHead(200, { 'Content-Type': 'application/json', ETag: etag }).end(JSON.stringify(this.config));
      return;
    }
    if (req.method === 'GET' && path === '/api/client/stream') {
      if (this.streamMissing) {
        record(404);
        res.writeHead(404).end();
        return;
      }
      if (!this.streamAvailable) {
        record(503);
        res.writeHead(503).end();
        return;
      }
      record(200);
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.write(`: hello\n\nevent: unleash-connected\ndata: ${JSON.stringify(this.config)}\n\n`);
      this.streams.add(res);
      req.on('close', () => this.streams.delete(res));
      return;
    }
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const failures = this.failPosts.get(path);
      const failWith = failures?.shift();
      if (failWith !== undefined) {
        record(failWith);
        res.writeHead(failWith).end();
        return;
      }
      this.posts.push({ path, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      record(202);
      res.writeHead(202).end();
      return;
    }
    record(404);
    res.writeHead(404).end();
  }
}

export async function eventually(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
