// What the client sends back to Wavegate: its registration, the evaluations it counted (metrics, in Unleash's
// bucket format) and the errors reported behind flags, which Wavegate turns into signals that halt a rollout.
// Metrics and error reports are sent on their own timers; a send that fails keeps its counts for the next one.
import { BUILT_IN_STRATEGIES, resolveContextValue, type EvaluationContext } from '@wavegate/evaluation';
import { ErrorAggregator, errorMessage } from './error-reports';
import type { HttpClient } from './http';
import { MetricsAggregator } from './metrics';
import type { ErrorReportBody, MetricsBody, WavegateClientOptions } from './types';
import { SDK_NAME, SDK_VERSION } from './version';

// Who is reporting: the same in every body the client sends.
export interface ClientIdentity {
  appName: string;
  instanceId: string;
  environment: string | undefined;
}

export class Reporter {
  // The evaluation counts; undefined when metrics are off (metricsIntervalMs 0). The client counts into it
  // directly on its hot path.
  readonly metrics: MetricsAggregator | undefined;
  private readonly errors: ErrorAggregator;
  private readonly metricsIntervalMs: number;
  private metricsTimer: NodeJS.Timeout | undefined;
  private errorsTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: WavegateClientOptions,
    private readonly identity: ClientIdentity,
    private readonly http: HttpClient,
  ) {
    this.metricsIntervalMs = options.metricsIntervalMs ?? 60_000;
    this.metrics =
      this.metricsIntervalMs > 0 ? new MetricsAggregator(options.maxMetricsFlags ?? 10_000) : undefined;
    this.errors = new ErrorAggregator(options.maxErrorKeys ?? 1_000);
  }

  // Starts the timers that send metrics and error reports (not for an offline client: it sends nothing).
  start(): void {
    if (this.metrics !== undefined) {
      this.metricsTimer = setInterval(() => void this.flushMetrics(), this.metricsIntervalMs);
      this.metricsTimer.unref();
    }
    this.errorsTimer = setInterval(() => void this.flushErrors(), this.options.errorsIntervalMs ?? 5_000);
    this.errorsTimer.unref();
  }

  stop(): void {
    for (const t of [this.metricsTimer, this.errorsTimer]) if (t !== undefined) clearInterval(t);
    this.metricsTimer = this.errorsTimer = undefined;
  }

  // Tells Wavegate this instance exists (Unleash's client registration); its outcome does not matter.
  register(): void {
    const body = {
      appName: this.identity.appName,
      instanceId: this.identity.instanceId,
      sdkVersion: `${SDK_NAME}:${SDK_VERSION}`,
      strategies: [...BUILT_IN_STRATEGIES],
      started: new Date().toISOString(),
      interval: this.metricsIntervalMs,
      ...(this.identity.environment === undefined ? {} : { environment: this.identity.environment }),
    };
    void this.http.post('/api/client/register', body);
  }

  // Counts an error behind a flag for the context's tenant (`tenantId`), to be sent with the next batch.
  reportError(flag: string, context: EvaluationContext | undefined, error: unknown): void {
    const tenantId = context === undefined ? undefined : resolveContextValue(context, 'tenantId');
    this.errors.add(flag, tenantId, errorMessage(error) ?? 'unspecified error');
  }

  async flushMetrics(): Promise<void> {
    if (this.options.offline === true) return;
    const bucket = this.metrics?.take();
    if (bucket === undefined) return;
    const body: MetricsBody = {
      appName: this.identity.appName,
      instanceId: this.identity.instanceId,
      bucket,
    };
    if (this.identity.environment !== undefined) body.environment = this.identity.environment;
    const outcome = await this.http.post('/api/client/metrics', body);
    if (outcome === 'retry') this.metrics?.restore(bucket);
  }

  async flushErrors(): Promise<void> {
    if (this.errors.size === 0 || this.options.offline === true) return;
    const errors = this.errors.take();
    // Wavegate takes at most 1,000 reports per request.
    for (let i = 0; i < errors.length; i += 1000) {
      const chunk = errors.slice(i, i + 1000);
      const body: ErrorReportBody = {
        appName: this.identity.appName,
        instanceId: this.identity.instanceId,
        errors: chunk,
      };
      if (this.identity.environment !== undefined) body.environment = this.identity.environment;
      const outcome = await this.http.post('/api/client/errors', body);
      if (outcome === 'retry') this.errors.restore(chunk);
    }
  }
}
