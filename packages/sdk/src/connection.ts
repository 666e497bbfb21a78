// How the client keeps its configuration current: a server-sent event stream (/api/client/stream), with polling
// (/api/client/features, ETag) while the stream is down or where the server has none, jittered backoff for both,
// and an idle timeout that reconnects a stream gone silent. Everything it receives goes to the ConfigurationStore.
import { Backoff } from './backoff';
import { isFeaturesResponse } from './cache-file';
import type { ConfigurationStore } from './configuration-store';
import { errorMessage } from './error-reports';
import { WavegateAuthError } from './errors';
import type { HttpClient } from './http';
import { SseParser, type SseEvent } from './sse';
import type { FetchResponseLike, Logger, WavegateClientOptions } from './types';

export type ConnectionState = 'starting' | 'streaming' | 'polling' | 'offline' | 'closed' | 'failed';

export interface ConnectionEvents {
  // The connection stopped for good (a refused token): nothing more will be fetched.
  failed(error: Error): void;
  // A poll failed; the connection retries with backoff.
  error(error: Error): void;
}

const STREAM_PATH = '/api/client/stream';
const FEATURES_PATH = '/api/client/features';

export class Connection {
  private current: ConnectionState;
  private readonly refreshIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly streamIdleTimeoutMs: number;
  private readonly streamBackoff: Backoff;
  private readonly pollBackoff: Backoff;
  private streamDisabled: boolean;
  private streamAbort: AbortController | undefined;
  private streamConnected = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private etag: string | undefined;
  // The id of the last stream event (Wavegate uses the configuration's ETag): sent as Last-Event-ID on
  // reconnect so that an unchanged configuration is not sent again.
  private lastEventId: string | undefined;
  private closed = false;

  constructor(
    options: WavegateClientOptions,
    private readonly http: HttpClient,
    private readonly store: ConfigurationStore,
    private readonly logger: Logger,
    private readonly events: ConnectionEvents,
  ) {
    this.current = options.offline === true ? 'offline' : 'starting';
    this.refreshIntervalMs = options.refreshIntervalMs ?? 15_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.streamIdleTimeoutMs = options.streamIdleTimeoutMs ?? 90_000;
    this.streamBackoff = new Backoff(options.backoffMinMs ?? 500, options.backoffMaxMs ?? 60_000);
    this.pollBackoff = new Backoff(options.backoffMinMs ?? 500, Math.max(this.refreshIntervalMs, 1));
    this.streamDisabled = options.streaming === false;
  }

  get state(): ConnectionState {
    return this.current;
  }

  start(): void {
    if (this.streamDisabled) {
      this.current = 'polling';
      void this.poll();
    } else void this.connectStream();
  }

  // Ends the stream and stops polling, for good.
  close(): void {
    this.closed = true;
    this.current = 'closed';
    this.stopStream();
    this.clearTimers();
  }

  private fail(error: Error): void {
    this.current = 'failed';
    this.stopStream();
    this.clearTimers();
    this.events.failed(error);
  }

  private stopped(): boolean {
    return this.closed || this.current === 'failed';
  }

  private clearTimers(): void {
    for (const t of [this.pollTimer, this.reconnectTimer]) if (t !== undefined) clearTimeout(t);
    this.pollTimer = this.reconnectTimer = undefined;
  }

  // ---- stream ----

  private async connectStream(): Promise<void> {
    this.reconnectTimer = undefined;
    if (this.stopped()) return;
    const abort = new AbortController();
    this.streamAbort = abort;
    let response: FetchResponseLike;
    const connectTimer = setTimeout(() => abort.abort(), this.timeoutMs);
    try {
      response = await this.http.open(STREAM_PATH, this.streamHeaders(), abort.signal);
    } catch (e) {
      clearTimeout(connectTimer);
      this.streamDown(abort, `stream connection failed: ${errorMessage(e)}`);
      return;
    }
    clearTimeout(connectTimer);
    if (!response.ok || this.closed) {
      // Not read any further: release the connection (aborting alone may not, see readStream).
      response.body?.cancel().catch(() => undefined);
    }
    if (response.status === 401 || response.status === 403) {
      this.fail(new WavegateAuthError(response.status, STREAM_PATH));
      return;
    }
    if (response.status === 404 || response.status === 501) {
      // A server without the stream: poll for good.
      this.logger.warn(
        `no stream at ${STREAM_PATH} (HTTP ${response.status}); polling every ${this.refreshIntervalMs} ms`,
      );
      this.streamDisabled = true;
      this.current = 'polling';
      this.startPolling(true);
      return;
    }
    if (!response.ok || response.body === null) {
      this.streamDown(abort, `stream refused: HTTP ${response.status}`);
      return;
    }
    if (this.closed) {
      abort.abort();
      return;
    }
    this.streamConnected = true;
    this.current = 'streaming';
    this.stopPolling();
    this.streamBackoff.reset();
    await this.readStream(response.body, abort);
  }

  private streamHeaders(): Record<string, string> {
    return {
      ...this.http.headers,
      Accept: 'text/event-stream',
      'Cache-Control': 'no-cache',
      ...(this.lastEventId !== undefined && this.store.fromServer
        ? { 'Last-Event-ID': this.lastEventId }
        : {}),
    };
  }

  private async readStream(body: ReadableStream<Uint8Array>, abort: AbortController): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let lastByte = Date.now();
    const idle = setInterval(
      () => {
        if (Date.now() - lastByte > this.streamIdleTimeoutMs) abort.abort();
      },
      Math.max(50, Math.floor(this.streamIdleTimeoutMs / 3)),
    );
    idle.unref();
    // Aborting the request is not enough to end the stream everywhere (Node 18's fetch can lose the link
    // between the signal and the connection after a garbage collection): cancel the body too, which
    // closes the connection and ends the pending read.
    const cancel = (): void => void reader.cancel().catch(() => undefined);
    abort.signal.addEventListener('abort', cancel, { once: true });
    const parser = new SseParser((event) => this.onStreamEvent(event));
    let reason = 'stream closed by the server';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        lastByte = Date.now();
        parser.push(decoder.decode(value, { stream: true }));
      }
    } catch (e) {
      reason = `stream broken: ${errorMessage(e)}`;
    } finally {
      clearInterval(idle);
      abort.signal.removeEventListener('abort', cancel);
    }
    if (abort.signal.aborted && !this.closed) reason = 'stream idle, reconnecting';
    this.streamDown(abort, reason, parser.retryMs);
  }

  private onStreamEvent(event: SseEvent): void {
    if (event.data === '' || this.closed) return;
    const id = event.id;
    let body: unknown;
    try {
      body = JSON.parse(event.data);
    } catch {
      this.logger.debug(`stream event "${event.event}" ignored: not JSON`);
      return;
    }
    if (!this.store.applyStreamBody(body)) return;
    if (id !== undefined) this.lastEventId = id;
    this.streamBackoff.reset();
  }

  private streamDown(abort: AbortController, reason: string, retryMs?: number): void {
    if (this.streamAbort === abort) this.streamAbort = undefined;
    const wasConnected = this.streamConnected;
    this.streamConnected = false;
    if (this.stopped()) return;
    this.logger.warn(`${reason}; polling until the stream is back`);
    this.current = 'polling';
    // Poll at once: updates may have been missed while the stream was down.
    this.startPolling(true);
    if (!wasConnected && !this.store.fromServer) void this.store.loadCacheOnce();
    const delay = Math.max(retryMs ?? 0, this.streamBackoff.next());
    this.reconnectTimer = setTimeout(() => void this.connectStream(), delay);
    this.reconnectTimer.unref();
  }

  private stopStream(): void {
    this.streamAbort?.abort();
    this.streamAbort = undefined;
    this.streamConnected = false;
  }

  // ---- polling ----

  private startPolling(immediate: boolean): void {
    if (this.pollTimer !== undefined || this.closed) return;
    this.pollTimer = setTimeout(() => void this.poll(), immediate ? 0 : this.refreshIntervalMs);
    this.pollTimer.unref();
  }

  private stopPolling(): void {
    if (this.pollTimer !== undefined) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }

  private async poll(): Promise<void> {
    this.pollTimer = undefined;
    if (this.stopped() || this.streamConnected) return;
    let next = this.refreshIntervalMs;
    try {
      const headers: Record<string, string> = { ...this.http.headers, Accept: 'application/json' };
      if (this.etag !== undefined) headers['If-None-Match'] = this.etag;
      const res = await this.http.requestText(FEATURES_PATH, { headers });
      if (res.status === 401 || res.status === 403) {
        this.fail(new WavegateAuthError(res.status, FEATURES_PATH));
        return;
      }
      if (res.status === 304) {
        this.pollBackoff.reset();
      } else if (res.status === 200) {
        const body: unknown = JSON.parse(res.text);
        if (!isFeaturesResponse(body)) throw new Error(`${FEATURES_PATH}: not a features response`);
        this.etag = res.etag ?? undefined;
        this.lastEventId = this.etag;
        this.pollBackoff.reset();
        if (!this.streamConnected) this.store.apply(body, 'poll');
      } else {
        throw new Error(`${FEATURES_PATH}: HTTP ${res.status}`);
      }
    } catch (e) {
      next = this.pollBackoff.next();
      this.events.error(new Error(`fetching flags failed: ${errorMessage(e)}`));
      if (!this.store.fromServer) await this.store.loadCacheOnce();
    }
    if (this.stopped() || this.streamConnected) return;
    if (this.pollTimer === undefined) {
      this.pollTimer = setTimeout(() => void this.poll(), next);
      this.pollTimer.unref();
    }
  }
}
