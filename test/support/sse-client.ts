import http from 'node:http';

export interface SseEvent {
  event: string;
  id?: string;
  data: string;
  at: number;
}

/**
 * A raw server-sent-events client over its own TCP connection (no agent pooling), recording each event with its
 * arrival time; `keepData: false` keeps only the type and time (for a thousand clients at once).
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  /** The `retry:` hints the server sent. */
  readonly retries: number[] = [];
  readonly ended: Promise<void>;
  private req?: http.ClientRequest;
  private buffer = '';
  private waiters: Array<() => void> = [];

  constructor(
    base: string,
    path: string,
    token: string,
    private readonly keepData = true,
  ) {
    const u = new URL(path, base);
    this.ended = new Promise<void>((resolve, reject) => {
      this.req = http.get(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname + u.search,
          agent: false,
          headers: { authorization: token, accept: 'text/event-stream' },
        },
        (res) => {
          if (res.statusCode !== 200) reject(new Error(`SSE ${path}: HTTP ${res.statusCode}`));
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => this.feed(chunk));
          res.on('end', () => resolve());
          res.on('error', () => resolve());
        },
      );
      this.req.on('error', (e) => reject(e));
    });
    this.ended.catch(() => undefined);
  }

  count(event: string): number {
    let n = 0;
    for (const e of this.events) if (e.event === event) n++;
    return n;
  }

  /** Resolves when `event` has arrived `n` times; rejects after `timeoutMs`. */
  async waitFor(event: string, n: number, timeoutMs = 10_000): Promise<SseEvent> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.filter((e) => e.event === event);
      if (found.length >= n) return found[n - 1];
      const left = until - Date.now();
      if (left <= 0) throw new Error(`SSE: ${event} #${n} not received within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  close(): void {
    this.req?.destroy();
  }

  private feed(chunk: string): void {
    const at = Date.now();
    this.buffer += chunk;
    let i: number;
    while ((i = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 2);
      let event = 'message';
      let id: string | undefined;
      const data: string[] = [];
      let any = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        const value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
        if (field === 'retry') this.retries.push(Number(value));
        else if (field === 'id') id = value;
        else if (field === 'event') {
          event = value;
          any = true;
        } else if (field === 'data') {
          data.push(value);
          any = true;
        }
      }
      if (any) this.events.push({ event, id, data: this.keepData ? data.join('\n') : '', at });
    }
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
