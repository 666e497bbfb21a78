import type { ClientFeaturesResponse, EvaluationContext } from '@wavegate/evaluation';

// The subset of the WHATWG fetch API the client uses, so that any fetch (Node 18+'s global one, undici,
// a polyfill) can be injected.
export interface FetchResponseLike {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  readonly body: ReadableStream<Uint8Array> | null;
  text(): Promise<string>;
}

export interface FetchInitLike {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export type FetchLike = (url: string, init?: FetchInitLike) => Promise<FetchResponseLike>;

export interface Logger {
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

export interface WavegateClientOptions {
  // Base URL of Wavegate, e.g. `https://wavegate.internal:3000` (the client appends `/api/client/...`).
  url: string;
  // A client token (POST /api/tokens {kind: 'client', environment}); it decides the environment served.
  token: string;
  appName: string;
  // Added to every evaluation context, and to error reports. Informational: the token decides what is served.
  environment?: string;
  instanceId?: string;
  // Polling interval, used when streaming is off or while the stream is down. Default 15 s.
  refreshIntervalMs?: number;
  // Server-sent events from GET /api/client/stream. Default true.
  streaming?: boolean;
  // A features response (Unleash v2 format) or the path of a JSON file holding one: evaluation works
  // from it immediately, until the server's configuration arrives.
  bootstrap?: ClientFeaturesResponse | string;
  // Never contact Wavegate: evaluate from `bootstrap` or, without one, from `cacheFile` (tests, benchmarks,
  // air-gapped runs). Metrics are still counted in memory but never sent.
  offline?: boolean;
  // Where to keep the last configuration the server served; used at boot when Wavegate is unreachable.
  cacheFile?: string;
  // Metrics (yes/no/variant counts per flag) are sent every interval. Default 60 s; 0 disables them.
  metricsIntervalMs?: number;
  // Error reports are sent every interval. Default 5 s (they may halt a rollout, so they go out quickly).
  errorsIntervalMs?: number;
  // Per request; the stream has no overall timeout but is considered dead after `streamIdleTimeoutMs`
  // without a byte (the server sends heartbeats). Defaults 10 s and 90 s.
  timeoutMs?: number;
  streamIdleTimeoutMs?: number;
  // Reconnect and retry backoff: jittered exponential from `min` to `max`. Defaults 500 ms and 60 s.
  backoffMinMs?: number;
  backoffMaxMs?: number;
  // Added to the context of every evaluation (after appName and environment).
  context?: EvaluationContext;
  headers?: Record<string, string>;
  fetch?: FetchLike;
  logger?: Logger;
  // Upper bounds on what is buffered between two sends, whatever the traffic. Defaults 10,000 and 1,000.
  maxMetricsFlags?: number;
  maxErrorKeys?: number;
}

export type ConfigurationSource = 'bootstrap' | 'cache' | 'poll' | 'stream';

export interface UpdateEvent {
  source: ConfigurationSource;
  // Flags added, removed or changed by this update (all flags for the first configuration).
  changed: string[];
  flagCount: number;
}

export interface ErrorReport {
  flag: string;
  tenantId?: string;
  count: number;
  // The latest message for this flag and tenant (500 characters at most).
  message: string;
}

export interface ErrorReportBody {
  appName: string;
  environment?: string;
  instanceId: string;
  errors: ErrorReport[];
}

export interface MetricsBucket {
  start: string;
  stop: string;
  toggles: Record<string, { yes: number; no: number; variants: Record<string, number> }>;
}

export interface MetricsBody {
  appName: string;
  instanceId: string;
  environment?: string;
  bucket: MetricsBucket;
}
