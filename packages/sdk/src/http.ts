// The client's requests to Wavegate: the common headers, a timeout on every request that holds even where
// fetch ignores its AbortSignal (abortable), and the outcome of a POST as the reporting code needs it.
import { errorMessage } from './error-reports';
import type { FetchLike, FetchResponseLike, Logger } from './types';

export interface TextResponse {
  status: number;
  text: string;
  etag: string | null;
}

// 'ok', 'drop' (the server refused the body: resending cannot help) or 'retry' (network or server error).
export type PostOutcome = 'ok' | 'drop' | 'retry';

export class HttpClient {
  constructor(
    private readonly baseUrl: string,
    private readonly fetchFn: FetchLike,
    // Authorization and the Unleash identification headers, sent with every request.
    readonly headers: Record<string, string>,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  // Opens a response whose body the caller reads (the stream); `signal` ends the wait for the response.
  open(path: string, headers: Record<string, string>, signal: AbortSignal): Promise<FetchResponseLike> {
    return abortable(this.fetchFn(`${this.baseUrl}${path}`, { headers, signal }), signal);
  }

  // A request whose whole body is read, within timeoutMs.
  async requestText(
    path: string,
    init: { method?: string; headers: Record<string, string>; body?: string },
  ): Promise<TextResponse> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    try {
      // The timeout holds even where fetch ignores the signal (see Connection.readStream).
      const res = await abortable(
        this.fetchFn(`${this.baseUrl}${path}`, { ...init, signal: abort.signal }),
        abort.signal,
      );
      const text = await abortable(res.text(), abort.signal);
      return { status: res.status, text, etag: res.headers.get('etag') };
    } finally {
      clearTimeout(timer);
    }
  }

  async post(path: string, body: unknown): Promise<PostOutcome> {
    try {
      const res = await this.requestText(path, {
        method: 'POST',
        headers: { ...this.headers, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (res.status >= 200 && res.status < 300) return 'ok';
      if (res.status === 429 || res.status >= 500) {
        this.logger.warn(`POST ${path}: HTTP ${res.status}, will retry`);
        return 'retry';
      }
      this.logger.warn(`POST ${path}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
      return 'drop';
    } catch (e) {
      this.logger.warn(`POST ${path} failed: ${errorMessage(e)}, will retry`);
      return 'retry';
    }
  }
}

// `promise`, or a rejection as soon as `signal` aborts, whether or not the promise's producer honours the signal.
// A response that arrives after the abort has its body cancelled, so that its connection is not held.
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    discard(promise);
    return Promise.reject(abortError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      discard(promise);
      reject(abortError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function discard(promise: Promise<unknown>): void {
  promise.then(
    (value) => {
      const body = (value as { body?: { cancel?: () => Promise<void> } | null } | null)?.body;
      if (typeof body?.cancel === 'function') body.cancel().catch(() => undefined);
    },
    () => undefined,
  );
}

function abortError(): Error {
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  return error;
}
