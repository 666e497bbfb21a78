import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, In, MoreThanOrEqual } from 'typeorm';
import { ErrorDetail, notFound, unprocessable } from '../common/errors';
import { TransactionRunner, Tx } from '../common/transaction';
import { FLAG_KEY_RE } from './domain/flag.model';
import { FlagEntity } from './flag.entity';
import { ClientInstanceEntity, FlagErrorReportEntity, FlagMetricEntity } from './flag-metrics.entity';

const HOUR_MS = 3_600_000;
const MAX_FLAGS_PER_BUCKET = 5_000;
const MAX_COUNT = 1_000_000_000;

export interface MetricsInput {
  appName: string;
  instanceId: string;
  toggles: Map<string, { yes: number; no: number; variants: Map<string, number> }>;
}

export interface ErrorReport {
  flag: string;
  tenantId?: string;
  count: number;
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown): number | null =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_COUNT ? v : null;
const shortString = (v: unknown, max: number): string | null =>
  typeof v === 'string' && v.length > 0 && v.length <= max ? v : null;

/** Unleash's metrics body: `{appName, instanceId, bucket: {start, stop, toggles: {name: {yes, no, variants}}}}`. */
export function parseMetrics(body: unknown): MetricsInput {
  const errors: ErrorDetail[] = [];
  const b = isObject(body) ? body : {};
  if (!isObject(body)) errors.push({ field: 'body', reason: 'must be an object' });
  const appName = shortString(b.appName, 200);
  if (!appName) errors.push({ field: 'appName', reason: 'required: 1-200 characters' });
  const instanceId = shortString(b.instanceId, 200) ?? 'default';
  const toggles: MetricsInput['toggles'] = new Map();
  const bucket = b.bucket;
  if (!isObject(bucket) || !isObject(bucket.toggles)) {
    errors.push({ field: 'bucket.toggles', reason: 'required: an object of {yes, no, variants} per flag' });
  } else {
    const entries = Object.entries(bucket.toggles);
    if (entries.length > MAX_FLAGS_PER_BUCKET)
      errors.push({ field: 'bucket.toggles', reason: `at most ${MAX_FLAGS_PER_BUCKET} flags` });
    for (const [name, t] of entries.slice(0, MAX_FLAGS_PER_BUCKET)) {
      const at = `bucket.toggles.${name}`;
      if (!isObject(t)) {
        errors.push({ field: at, reason: 'must be {yes, no, variants?}' });
        continue;
      }
      const yes = count(t.yes ?? 0);
      const no = count(t.no ?? 0);
      if (yes === null) errors.push({ field: `${at}.yes`, reason: 'must be a non-negative integer' });
      if (no === null) errors.push({ field: `${at}.no`, reason: 'must be a non-negative integer' });
      const variants = new Map<string, number>();
      if (t.variants !== undefined && t.variants !== null) {
        if (!isObject(t.variants))
          errors.push({ field: `${at}.variants`, reason: 'must be an object of counts' });
        else {
          for (const [v, c] of Object.entries(t.variants)) {
            const n = count(c);
            if (n === null || v.length > 100)
              errors.push({ field: `${at}.variants.${v}`, reason: 'must be a non-negative integer' });
            else if (n > 0) variants.set(v, n);
          }
        }
      }
      if (yes !== null && no !== null && FLAG_KEY_RE.test(name)) toggles.set(name, { yes, no, variants });
    }
  }
  if (errors.length > 0 || !appName)
    throw unprocessable(
      'CLIENT.BAD_METRICS',
      errors
        .map((e) => `${e.field}: ${e.reason}`)
        .slice(0, 3)
        .join('; '),
      errors,
    );
  return { appName, instanceId, toggles };
}

/** Error reports: `{appName?, errors: [{flag, tenantId?, count, message}]}` or the bare list. */
export function parseErrorReports(body: unknown): { appName: string | null; reports: ErrorReport[] } {
  const errors: ErrorDetail[] = [];
  const list = Array.isArray(body) ? body : isObject(body) ? body.errors : undefined;
  const prefix = Array.isArray(body) ? '' : 'errors';
  const appName = isObject(body) ? shortString(body.appName, 200) : null;
  if (!Array.isArray(list)) {
    throw unprocessable(
      'CLIENT.BAD_ERROR_REPORT',
      'errors: required, a list of {flag, tenantId?, count, message}',
      [{ field: 'errors', reason: 'required: a list of {flag, tenantId?, count, message}' }],
    );
  }
  if (list.length > 1000) errors.push({ field: prefix || 'body', reason: 'at most 1000 reports per batch' });
  const reports: ErrorReport[] = [];
  list.slice(0, 1000).forEach((r, i) => {
    const at = `${prefix}[${i}]`;
    if (!isObject(r)) {
      errors.push({ field: at, reason: 'must be {flag, tenantId?, count, message}' });
      return;
    }
    if (typeof r.flag !== 'string' || !FLAG_KEY_RE.test(r.flag))
      errors.push({ field: `${at}.flag`, reason: 'must be a flag key' });
    const tenantId =
      r.tenantId === undefined || r.tenantId === null ? undefined : shortString(r.tenantId, 200);
    if (tenantId === null) errors.push({ field: `${at}.tenantId`, reason: 'must be 1-200 characters' });
    const n = r.count === undefined ? 1 : count(r.count);
    if (n === null || n === 0) errors.push({ field: `${at}.count`, reason: 'must be a positive integer' });
    if (typeof r.message !== 'string') errors.push({ field: `${at}.message`, reason: 'required: a string' });
    if (errors.length === 0) {
      reports.push({
        flag: r.flag as string,
        ...(tenantId ? { tenantId } : {}),
        count: n as number,
        message: (r.message as string).slice(0, 2000),
      });
    }
  });
  if (errors.length > 0) {
    throw unprocessable(
      'CLIENT.BAD_ERROR_REPORT',
      errors
        .map((e) => `${e.field}: ${e.reason}`)
        .slice(0, 3)
        .join('; '),
      errors,
    );
  }
  return { appName, reports };
}

/**
 * Usage metrics and error reports sent by SDKs, and the SDK instances that registered.
 * `errorReportsSince` is how the rollout engine reads SDK error reports as signals.
 */
@Injectable()
export class FlagMetricsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tx: TransactionRunner,
  ) {}

  async record(environment: string, m: MetricsInput): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.tx.run(async (tx) => {
          const hourStart = new Date(Math.floor(tx.now.getTime() / HOUR_MS) * HOUR_MS);
          for (const [flagKey, t] of m.toggles) {
            const rows: Array<{ variant: string; yes: number; no: number }> = [
              { variant: '', yes: t.yes, no: t.no },
            ];
            for (const [variant, n] of t.variants) rows.push({ variant, yes: n, no: 0 });
            for (const r of rows) {
              if (r.yes === 0 && r.no === 0) continue;
              const id = { flagKey, environment, appName: m.appName, hourStart, variant: r.variant };
              const existing = await tx.manager.findOne(FlagMetricEntity, { where: id });
              if (existing) {
                await tx.manager.increment(FlagMetricEntity, id, 'yes', r.yes);
                if (r.no > 0) await tx.manager.increment(FlagMetricEntity, id, 'no', r.no);
              } else await tx.manager.insert(FlagMetricEntity, { ...id, yes: r.yes, no: r.no });
            }
          }
          await this.touchInstance(tx.manager, environment, m.appName, m.instanceId, tx.now, null);
        });
        return;
      } catch (e) {
        // Two replicas inserting the same new bucket row on PostgreSQL: the loser retries and increments.
        if (attempt < 2 && /unique|duplicate/i.test(String(e))) continue;
        throw e;
      }
    }
  }

  async register(environment: string, body: unknown): Promise<void> {
    const b = isObject(body) ? body : {};
    const appName = shortString(b.appName, 200);
    if (!appName) {
      throw unprocessable('CLIENT.BAD_REGISTRATION', 'appName: required', [
        { field: 'appName', reason: 'required: 1-200 characters' },
      ]);
    }
    const instanceId = shortString(b.instanceId, 200) ?? 'default';
    const started =
      typeof b.started === 'string' || typeof b.started === 'number' ? new Date(b.started) : null;
    const info = {
      sdkVersion: shortString(b.sdkVersion, 100),
      strategies: Array.isArray(b.strategies)
        ? b.strategies.filter((s): s is string => typeof s === 'string').slice(0, 100)
        : [],
      intervalMs:
        typeof b.interval === 'number' && Number.isInteger(b.interval)
          ? Math.min(b.interval, 2 ** 31 - 1)
          : null,
      startedAt: started && !Number.isNaN(started.getTime()) ? started : null,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.tx.run((tx) =>
          this.touchInstance(tx.manager, environment, appName, instanceId, tx.now, info),
        );
        return;
      } catch (e) {
        if (attempt < 2 && /unique|duplicate/i.test(String(e))) continue;
        throw e;
      }
    }
  }

  private async touchInstance(
    manager: import('typeorm').EntityManager,
    environment: string,
    appName: string,
    instanceId: string,
    now: Date,
    info: {
      sdkVersion: string | null;
      strategies: string[];
      intervalMs: number | null;
      startedAt: Date | null;
    } | null,
  ): Promise<void> {
    const id = { appName, instanceId, environment };
    const existing = await manager.findOne(ClientInstanceEntity, { where: id });
    const values = info ? { ...info, registeredAt: now, lastSeenAt: now } : { lastSeenAt: now };
    if (existing) await manager.update(ClientInstanceEntity, id, values);
    else {
      await manager.insert(ClientInstanceEntity, {
        ...id,
        sdkVersion: null,
        strategies: [],
        intervalMs: null,
        startedAt: null,
        registeredAt: null,
        ...values,
      });
    }
  }

  /** Per-flag usage: hourly buckets and totals, newest first. */
  async flagMetrics(key: string, q: { environment?: string; hours?: number }, now: Date) {
    const flag = await this.dataSource.getRepository(FlagEntity).findOne({ where: { key } });
    if (!flag) throw notFound('FLAG.NOT_FOUND', `No flag ${key}`);
    const hours = q.hours ?? 24;
    const since = new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS - (hours - 1) * HOUR_MS);
    const rows = await this.dataSource.getRepository(FlagMetricEntity).find({
      where: {
        flagKey: key,
        hourStart: MoreThanOrEqual(since),
        ...(q.environment ? { environment: q.environment } : {}),
      },
      order: { hourStart: 'DESC', environment: 'ASC', appName: 'ASC', variant: 'ASC' },
    });
    const buckets = new Map<
      string,
      {
        environment: string;
        appName: string;
        hourStart: Date;
        yes: number;
        no: number;
        variants: Record<string, number>;
      }
    >();
    const totals = { yes: 0, no: 0, variants: {} as Record<string, number> };
    for (const r of rows) {
      const k = `${r.environment}\u0000${r.appName}\u0000${r.hourStart.toISOString()}`;
      let b = buckets.get(k);
      if (!b)
        buckets.set(
          k,
          (b = {
            environment: r.environment,
            appName: r.appName,
            hourStart: r.hourStart,
            yes: 0,
            no: 0,
            variants: {},
          }),
        );
      if (r.variant === '') {
        b.yes += r.yes;
        b.no += r.no;
        totals.yes += r.yes;
        totals.no += r.no;
      } else {
        b.variants[r.variant] = (b.variants[r.variant] ?? 0) + r.yes;
        totals.variants[r.variant] = (totals.variants[r.variant] ?? 0) + r.yes;
      }
    }
    const instances = await this.dataSource.getRepository(ClientInstanceEntity).find({
      where: q.environment ? { environment: q.environment } : {},
      order: { lastSeenAt: 'DESC' },
      take: 100,
    });
    return {
      flag: key,
      since,
      totals,
      items: [...buckets.values()],
      applications: [...new Set(rows.map((r) => r.appName))].map((appName) => ({
        appName,
        instances: instances
          .filter((i) => i.appName === appName)
          .map((i) => ({
            instanceId: i.instanceId,
            environment: i.environment,
            sdkVersion: i.sdkVersion,
            lastSeenAt: i.lastSeenAt,
          })),
      })),
    };
  }

  /** Stores a batch of SDK error reports and emits `flag.error_reported` per flag and tenant (the engine's signal). */
  async recordErrors(
    environment: string,
    tokenId: string,
    batch: { appName: string | null; reports: ErrorReport[] },
    // Also records each group as a signal (SignalsService.record) in the same transaction, so it can halt rollouts.
    asSignal?: (
      tx: Tx,
      group: { flagKey: string; tenantId: string | null; count: number; message: string },
    ) => Promise<unknown>,
  ): Promise<{ accepted: number }> {
    await this.tx.run(async (tx) => {
      const rows = batch.reports.map((r) => ({
        id: randomUUID(),
        environment,
        flagKey: r.flag,
        tenantId: r.tenantId ?? null,
        count: r.count,
        message: r.message,
        appName: batch.appName,
        tokenId,
        receivedAt: tx.now,
      }));
      for (let i = 0; i < rows.length; i += 50)
        await tx.manager.insert(FlagErrorReportEntity, rows.slice(i, i + 50));
      const groups = new Map<
        string,
        { flagKey: string; tenantId: string | null; count: number; message: string }
      >();
      for (const r of rows) {
        const k = `${r.flagKey}\u0000${r.tenantId ?? ''}`;
        const g = groups.get(k) ?? { flagKey: r.flagKey, tenantId: r.tenantId, count: 0, message: r.message };
        g.count += r.count;
        groups.set(k, g);
      }
      for (const g of groups.values()) {
        if (asSignal) await asSignal(tx, g);
        tx.emit({
          type: 'flag.error_reported',
          entityType: 'flag',
          entityId: g.flagKey,
          actor: `token:${tokenId}`,
          data: { environment, tenantId: g.tenantId, count: g.count, appName: batch.appName },
        });
      }
    });
    return { accepted: batch.reports.length };
  }

  /**
   * SDK error reports received since `since` for a flag (optionally only for some tenants): what the rollout
   * engine counts as error signals for a `flag.rollout` change request.
   */
  async errorReportsSince(q: {
    flagKey: string;
    since: Date;
    environment?: string;
    tenantIds?: readonly string[];
  }): Promise<{ count: number; reports: FlagErrorReportEntity[] }> {
    if (q.tenantIds && q.tenantIds.length === 0) return { count: 0, reports: [] };
    const reports = await this.dataSource.getRepository(FlagErrorReportEntity).find({
      where: {
        flagKey: q.flagKey,
        receivedAt: MoreThanOrEqual(q.since),
        ...(q.environment ? { environment: q.environment } : {}),
        ...(q.tenantIds ? { tenantId: In([...q.tenantIds]) } : {}),
      },
      order: { receivedAt: 'ASC' },
      take: 10_000,
    });
    return { count: reports.reduce((s, r) => s + r.count, 0), reports };
  }
}
