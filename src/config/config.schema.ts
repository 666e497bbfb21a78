import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export type DatabaseConfig =
  { kind: 'sqlite'; path: string; url: string } | { kind: 'postgres'; url: string; schema?: string };

export interface AppConfig {
  port: number;
  host: string;
  database: DatabaseConfig;
  /** Secret for signing (JWT, webhooks) and for wrapping per-tenant data keys. Never logged. */
  secret: string;
  adminEmail?: string;
  adminPassword?: string;
  publicUrl: string;
  logLevel: LogLevel;
  backupDir: string;
  /** Seconds between scheduled backups; 0 disables the schedule (API and CLI backups still work). */
  backupIntervalSeconds: number;
  /** How many complete backups to keep; older ones are deleted after each backup. */
  backupRetain: number;
  /** Where the continuous archive (bases, segments, parity, manifest) is written (docs/decisions/0014-continuous-archive.md). */
  archiveDir: string;
  /** Seconds between archive steps (ship captured changes as a segment); 0 turns the archiver off. */
  archiveIntervalSeconds: number;
  /** Seconds between logical bases of the tenant-scoped tables. */
  archiveBaseIntervalSeconds: number;
  /** Retention: every base of the last N seconds, hourly ones for the next N seconds, daily ones for N days. */
  archiveKeepAllSeconds: number;
  archiveKeepHourlySeconds: number;
  archiveKeepDailyDays: number;
  /** Captured changes stay in the database this long after they are archived (for feed consumers). */
  captureKeepSeconds: number;
  /** The pg_dump binary for PostgreSQL backups (WAVEGATE_PG_DUMP); by default `pg_dump` is looked up on PATH. */
  pgDumpPath?: string;
  /** SIGTERM: milliseconds readiness is 503 while the replica still serves (WAVEGATE_SHUTDOWN_GRACE_MS, 2000). */
  shutdownGraceMs: number;
  /** PostgreSQL connections per process in the pool (WAVEGATE_DB_POOL_SIZE, 10). */
  dbPoolSize: number;
  /** How often each replica polls the outbox as the fallback to NOTIFY (WAVEGATE_OUTBOX_POLL_MS, 500). */
  outboxPollMs: number;
  /** Lifetime of a login token and its cookie. */
  sessionTtlSeconds: number;
  /** Attempts per minute per client IP on `POST /api/auth/login`. */
  loginRateLimit: number;
  /** Seconds between scheduled inventory syncs from providers with an inventory endpoint; 0 disables the schedule. */
  inventorySyncIntervalSeconds: number;
  /** Plans of a provider's operations are refused when its inventory was last synced longer ago than this. */
  inventoryMaxAgeSeconds: number;
  /** Provider calls: timeout per attempt, attempts, first backoff (then x4). */
  providerTimeoutMs: number;
  providerAttempts: number;
  providerBackoffMs: number;
  /** Slack approvals (ADR 0017); absent when WAVEGATE_SLACK_SIGNING_SECRET is not set. Never returned by any API. */
  slack?: SlackConfig;
}

export interface SlackConfig {
  /** The Slack app's signing secret: verifies the `v0` signature of Slack's requests. Never logged or returned. */
  signingSecret: string;
  /** Origins a Slack `response_url` may point to (the ephemeral answers are posted there); anything else is ignored. */
  responseOrigins: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads and validates the environment once at boot. Every bad variable is reported, one line each, before the
 * process exits (fail fast). Defaults are safe for the embedded mode.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): AppConfig {
  const problems: string[] = [];

  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    if (!/^\d+$/.test(raw.trim())) {
      problems.push(`${name}: expected an integer between ${min} and ${max}, got "${raw}"`);
      return def;
    }
    const n = Number(raw);
    if (n < min || n > max) problems.push(`${name}: must be between ${min} and ${max}, got ${n}`);
    return n;
  };

  const port = int('PORT', 3000, 0, 65535);
  const host = env.HOST?.trim() || '127.0.0.1';
  const sessionTtlSeconds = int('WAVEGATE_SESSION_TTL_SECONDS', 12 * 3600, 60, 30 * 24 * 3600);
  const loginRateLimit = int('WAVEGATE_LOGIN_RATE_LIMIT', 10, 1, 10000);

  // Wave-engine tuning (read by src/rollouts/engine.settings.ts); validated here so a bad value is reported with
  // the others at boot.
  int('WAVEGATE_ENGINE_CONCURRENCY', 8, 1, 256);
  int('WAVEGATE_ENGINE_BATCH', 16, 1, 1000);
  int('WAVEGATE_ENGINE_POLL_MS', 200, 5, 60_000);
  int('WAVEGATE_ENGINE_LEASE_MS', 15_000, 500, 3_600_000);
  int('WAVEGATE_HTTP_OPERATION_TIMEOUT_MS', 10_000, 100, 120_000);
  int('WAVEGATE_HTTP_OPERATION_BACKOFF_MS', 500, 0, 60_000);
  const engineDisabled = env.WAVEGATE_ENGINE_DISABLED;
  if (engineDisabled !== undefined && engineDisabled !== '' && !['true', 'false'].includes(engineDisabled)) {
    problems.push(`WAVEGATE_ENGINE_DISABLED: must be "true" or "false", got "${engineDisabled}"`);
  }

  const rawUrl = env.DATABASE_URL?.trim() || 'sqlite:data/wavegate.sqlite';
  let database: DatabaseConfig = { kind: 'sqlite', path: resolve(cwd, 'data/wavegate.sqlite'), url: rawUrl };
  if (rawUrl.startsWith('sqlite:')) {
    const p = rawUrl.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!p) problems.push('DATABASE_URL: a sqlite URL needs a file path, e.g. sqlite:data/wavegate.sqlite');
    else
      database = {
        kind: 'sqlite',
        path: p === ':memory:' ? p : isAbsolute(p) ? p : resolve(cwd, p),
        url: rawUrl,
      };
  } else if (rawUrl.startsWith('postgres://') || rawUrl.startsWith('postgresql://')) {
    try {
      const u = new URL(rawUrl);
      database = { kind: 'postgres', url: rawUrl, schema: u.searchParams.get('schema') ?? undefined };
    } catch {
      problems.push('DATABASE_URL: not a valid postgres:// URL');
    }
  } else {
    problems.push(`DATABASE_URL: must start with "sqlite:" or "postgres://", got "${rawUrl.slice(0, 40)}"`);
  }

  const logLevel = (env.LOG_LEVEL?.trim() || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}`);

  const publicUrl = (env.WAVEGATE_PUBLIC_URL?.trim() || `http://${host}:${port}`).replace(/\/+$/, '');
  try {
    const u = new URL(publicUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
  } catch {
    problems.push(`WAVEGATE_PUBLIC_URL: must be an http(s) URL, got "${publicUrl}"`);
  }

  const adminEmail = env.WAVEGATE_ADMIN_EMAIL?.trim() || undefined;
  const adminPassword = env.WAVEGATE_ADMIN_PASSWORD || undefined;
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    problems.push('WAVEGATE_ADMIN_EMAIL and WAVEGATE_ADMIN_PASSWORD: set both or neither');
  }
  if (adminEmail && !/^[^\s@]+@[^\s@]+$/.test(adminEmail))
    problems.push('WAVEGATE_ADMIN_EMAIL: not an email address');
  if (adminPassword && adminPassword.length < 12)
    problems.push('WAVEGATE_ADMIN_PASSWORD: at least 12 characters');

  let secret = env.WAVEGATE_SECRET ?? '';
  if (secret && secret.length < 32) problems.push('WAVEGATE_SECRET: at least 32 characters');

  const dataDir =
    database.kind === 'sqlite' && database.path !== ':memory:'
      ? dirname(database.path)
      : resolve(cwd, 'data');
  const backupDir = resolve(cwd, env.WAVEGATE_BACKUP_DIR?.trim() || join(dataDir, 'backups'));
  const backupIntervalSeconds = int('WAVEGATE_BACKUP_INTERVAL_SECONDS', 300, 0, 7 * 24 * 3600);
  const backupRetain = int('WAVEGATE_BACKUP_RETAIN', 288, 1, 100_000);
  const pgDumpPath = env.WAVEGATE_PG_DUMP?.trim() || undefined;
  const inventorySyncIntervalSeconds = int('WAVEGATE_INVENTORY_SYNC_INTERVAL_SECONDS', 300, 0, 7 * 24 * 3600);
  const inventoryMaxAgeSeconds = int('WAVEGATE_INVENTORY_MAX_AGE_SECONDS', 3600, 10, 30 * 24 * 3600);
  const providerTimeoutMs = int('WAVEGATE_PROVIDER_TIMEOUT_MS', 10_000, 100, 120_000);
  const providerAttempts = int('WAVEGATE_PROVIDER_ATTEMPTS', 3, 1, 10);
  const providerBackoffMs = int('WAVEGATE_PROVIDER_BACKOFF_MS', 500, 0, 60_000);
  const archiveDir = resolve(cwd, env.WAVEGATE_ARCHIVE_DIR?.trim() || join(backupDir, 'archive'));
  const archiveIntervalSeconds = int('WAVEGATE_ARCHIVE_INTERVAL_SECONDS', 5, 0, 3600);
  const archiveBaseIntervalSeconds = int('WAVEGATE_ARCHIVE_BASE_INTERVAL_SECONDS', 900, 1, 7 * 24 * 3600);
  const archiveKeepAllSeconds = int('WAVEGATE_ARCHIVE_KEEP_ALL_SECONDS', 3600, 0, 365 * 86400);
  const archiveKeepHourlySeconds = int('WAVEGATE_ARCHIVE_KEEP_HOURLY_SECONDS', 86400, 0, 365 * 86400);
  const archiveKeepDailyDays = int('WAVEGATE_ARCHIVE_KEEP_DAILY_DAYS', 30, 0, 3650);
  const captureKeepSeconds = int('WAVEGATE_CAPTURE_KEEP_SECONDS', 3600, 0, 365 * 86400);
  const slack = slackConfig(env, problems);
  // SIGTERM: how long readiness is 503 while the replica still serves, so the load balancer moves away first.
  const shutdownGraceMs = int('WAVEGATE_SHUTDOWN_GRACE_MS', 2_000, 0, 8_000);
  const dbPoolSize = int('WAVEGATE_DB_POOL_SIZE', 10, 1, 500);
  // The outbox poll is the fallback behind PostgreSQL NOTIFY (and behind a lost LISTEN connection).
  const outboxPollMs = int('WAVEGATE_OUTBOX_POLL_MS', 500, 20, 600_000);

  if (problems.length > 0) throw new ConfigError(problems);

  if (!secret) {
    if (database.kind === 'postgres') {
      // Replicas must share one secret; generating one per process would break tokens and snapshots.
      throw new ConfigError([
        'WAVEGATE_SECRET: required with PostgreSQL (every replica must use the same secret)',
      ]);
    }
    secret = loadOrCreateSecret(join(dataDir, 'secret'));
  }

  return {
    port,
    host,
    database,
    secret,
    adminEmail,
    adminPassword,
    publicUrl,
    logLevel,
    backupDir,
    backupIntervalSeconds,
    backupRetain,
    pgDumpPath,
    archiveDir,
    archiveIntervalSeconds,
    archiveBaseIntervalSeconds,
    archiveKeepAllSeconds,
    archiveKeepHourlySeconds,
    archiveKeepDailyDays,
    captureKeepSeconds,
    shutdownGraceMs,
    dbPoolSize,
    outboxPollMs,
    sessionTtlSeconds,
    loginRateLimit,
    inventorySyncIntervalSeconds,
    inventoryMaxAgeSeconds,
    providerTimeoutMs,
    providerAttempts,
    providerBackoffMs,
    ...(slack ? { slack } : {}),
  };
}

// Slack's signing secrets are 32 hex characters; any other shape is a copy-paste slip (a bot token, a client secret).
const SLACK_SECRET_RE = /^[0-9a-f]{32,64}$/i;

function slackConfig(env: NodeJS.ProcessEnv, problems: string[]): SlackConfig | undefined {
  const secret = env.WAVEGATE_SLACK_SIGNING_SECRET?.trim() ?? '';
  const rawOrigins = env.WAVEGATE_SLACK_RESPONSE_ORIGINS?.trim() || 'https://hooks.slack.com';
  const responseOrigins: string[] = [];
  for (const o of rawOrigins
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    try {
      const u = new URL(o);
      if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.origin !== o.replace(/\/+$/, ''))
        throw new Error();
      responseOrigins.push(u.origin);
    } catch {
      problems.push(
        `WAVEGATE_SLACK_RESPONSE_ORIGINS: "${o}" is not an origin such as https://hooks.slack.com`,
      );
    }
  }
  if (secret === '') return undefined;
  if (!SLACK_SECRET_RE.test(secret)) {
    // The value itself is never echoed: it is a secret even when it is the wrong one.
    problems.push(
      "WAVEGATE_SLACK_SIGNING_SECRET: expected the Slack app's signing secret (32 hex characters, under Basic Information → App Credentials)",
    );
    return undefined;
  }
  return { signingSecret: secret, responseOrigins };
}

// Embedded mode: the secret is generated once into the data folder, readable by the owner only.
function loadOrCreateSecret(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return secret;
}
