import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

// Engine settings, read once at boot from the environment (defaults suit the embedded mode).
//   WAVEGATE_ENGINE_CONCURRENCY   targets of one wave at a time (8)
//   WAVEGATE_ENGINE_BATCH         targets per transaction, each in its own savepoint (16)
//   WAVEGATE_ENGINE_POLL_MS       how often the runner looks for work and for the end of a bake (200)
//   WAVEGATE_ENGINE_LEASE_MS      how long a claim on a CR lasts without renewal (15000)
//   WAVEGATE_HTTP_OPERATION_TIMEOUT_MS   per call of the `http` operation (10000)
//   WAVEGATE_HTTP_OPERATION_BACKOFF_MS   first wait between its attempts; then 4x (500)
//   WAVEGATE_ENGINE_DISABLED      "true": this process never runs rollouts (API-only replica)
export interface EngineSettings {
  concurrency: number;
  batchSize: number;
  pollMs: number;
  leaseMs: number;
  enabled: boolean;
  httpTimeoutMs: number;
  httpBackoffMs: number;
  /** This process's lease owner id. */
  workerId: string;
}

export function engineSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): EngineSettings {
  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new Error(`${name}: expected an integer between ${min} and ${max}, got "${raw}"`);
    }
    return n;
  };
  return {
    concurrency: int('WAVEGATE_ENGINE_CONCURRENCY', 8, 1, 256),
    batchSize: int('WAVEGATE_ENGINE_BATCH', 16, 1, 1000),
    pollMs: int('WAVEGATE_ENGINE_POLL_MS', 200, 5, 60_000),
    leaseMs: int('WAVEGATE_ENGINE_LEASE_MS', 15_000, 500, 3_600_000),
    enabled: env.WAVEGATE_ENGINE_DISABLED !== 'true',
    httpTimeoutMs: int('WAVEGATE_HTTP_OPERATION_TIMEOUT_MS', 10_000, 100, 120_000),
    httpBackoffMs: int('WAVEGATE_HTTP_OPERATION_BACKOFF_MS', 500, 0, 60_000),
    workerId: `${hostname().slice(0, 40)}:${process.pid}:${randomBytes(4).toString('hex')}`,
  };
}

export const ENGINE_SETTINGS = Symbol('ENGINE_SETTINGS');
