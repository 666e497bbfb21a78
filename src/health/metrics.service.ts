import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

// One registry per application instance (not prom-client's global one), so several apps in one process — as in
// the test suite — do not collide.
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'wavegate_http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  // 0 until this process has made a backup; operators alert on `time() - this > 2 * interval`.
  readonly backupLastSuccess = new Gauge({
    name: 'wavegate_backup_last_success_timestamp_seconds',
    help: 'Unix time of the last backup this process completed (0: none yet)',
    registers: [this.registry],
  });
  readonly backupFailures = new Counter({
    name: 'wavegate_backup_failures_total',
    help: 'Backup attempts of this process that failed',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'wavegate_' });
  }
}
