import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { badRequest, ErrorDetail, unprocessable } from '../common/errors';
import { TransactionRunner, Tx } from '../common/transaction';
import { ChangeRequestEntity } from '../change-requests/change-request.entity';
import { EnvironmentEntity } from '../environments/environment.entity';
import { SignalSeverity } from '../change-requests/domain/halt-policy';
import { RolloutEngine } from '../rollouts/rollout.engine';
import { OperationRegistry } from '../operations/operation.registry';
import { RolloutEntity, RolloutTargetEntity, RolloutWaveEntity } from '../rollouts/rollout.entity';
import { SignalEntity } from './signal.entity';
import { signalConcerns } from './signal-scope';
import { SEVERITIES } from './dto/signal.dto';

/** What any module may report: an error or health observation. */
export interface SignalInput {
  source: string;
  severity: SignalSeverity;
  message: string;
  tenantId?: string | null;
  changeRequestId?: string | null;
  flagKey?: string | null;
  /**
   * The environment the signal comes from (an SDK error report: its client token's). Omitted/null: every
   * environment. A signal naming an environment does not count against a CR acting in another (ADR 0007).
   */
  environment?: string | null;
  /** An Alertmanager `environment` label that names no environment: kept in the audit data, not used to scope. */
  ignoredEnvironment?: string;
  count?: number;
  /** `resolved` is recorded but never counted (an Alertmanager resolution). Default `firing`. */
  state?: 'firing' | 'resolved';
  /** Who reported it (`token:<id>`, `system`, `sdk:<client>`). */
  recordedBy: string;
}

export interface RecordedSignal {
  id: string;
  /** The environment the signal was scoped to; null = every environment. */
  environment: string | null;
  /** CRs this signal halted. */
  halted: string[];
}

/**
 * Signals (DESIGN.md "Waves and halting"). `record(tx, signal)` is the one entry point, for the HTTP routes and for
 * other modules (the flags/client API reports SDK error reports through it, inside its own transaction): it stores
 * the signal, and in the SAME transaction evaluates the halt policy of every running or paused CR the signal
 * concerns (names the CR, or a tenant of its current or completed waves, or a flag its operation changes; a signal
 * naming an environment only concerns CRs acting in it: `signalConcerns`, ADR 0007) and records the halt. So a halt
 * is in the database before the signal's request returns, and no target starts after it.
 */
@Injectable()
export class SignalsService {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly engine: RolloutEngine,
    private readonly registry: OperationRegistry,
  ) {}

  /**
   * `POST /api/signals`: the environment, when given, must exist (422 naming `environment`): a signal scoped to an
   * environment no CR acts in would halt nothing, and its sender would not know.
   */
  async report(input: SignalInput): Promise<RecordedSignal> {
    return this.tx.run(async (tx) => {
      if (input.environment) {
        const known = await environmentNames(tx.manager);
        if (!known.includes(input.environment)) {
          const reason = `no environment ${input.environment} (known: ${known.join(', ') || 'none'})`;
          throw unprocessable('SIGNAL.UNKNOWN_ENVIRONMENT', `environment: ${reason}`, [
            { field: 'environment', reason },
          ]);
        }
      }
      return this.record(tx, input);
    });
  }

  /**
   * `POST /api/signals/alertmanager`: one transaction for the batch. An `environment` label that names no
   * environment does not refuse the batch (Alertmanager would drop the alert): the signal is recorded unscoped,
   * counting in every environment as before, with the label kept as `ignoredEnvironment`. Failing towards a halt, as
   * with unknown severities.
   */
  async reportAlerts(inputs: SignalInput[]): Promise<RecordedSignal[]> {
    return this.tx.run(async (tx) => {
      const known = inputs.some((s) => s.environment) ? await environmentNames(tx.manager) : [];
      const out: RecordedSignal[] = [];
      for (const s of inputs) {
        const env = s.environment ?? null;
        out.push(
          await this.record(
            tx,
            env === null || known.includes(env) ? s : { ...s, environment: null, ignoredEnvironment: env },
          ),
        );
      }
      return out;
    });
  }

  async record(tx: Tx, input: SignalInput): Promise<RecordedSignal> {
    const m = tx.manager;
    const row = Object.assign(new SignalEntity(), {
      id: randomUUID(),
      source: input.source.slice(0, 100),
      severity: input.severity,
      state: input.state ?? 'firing',
      tenantId: input.tenantId ?? null,
      changeRequestId: input.changeRequestId ?? null,
      flagKey: input.flagKey ?? null,
      environment: input.environment ?? null,
      message: input.message.slice(0, 2000),
      count: input.count && input.count >= 1 ? Math.floor(input.count) : 1,
      at: tx.now,
      recordedBy: input.recordedBy,
    });
    await m.insert(SignalEntity, row);
    const data = {
      signalId: row.id,
      source: row.source,
      severity: row.severity,
      state: row.state,
      count: row.count,
      ...(row.tenantId ? { tenantId: row.tenantId } : {}),
      ...(row.changeRequestId ? { changeRequestId: row.changeRequestId } : {}),
      ...(row.flagKey ? { flagKey: row.flagKey } : {}),
      ...(row.environment ? { environment: row.environment } : {}),
      ...(input.ignoredEnvironment ? { ignoredEnvironment: input.ignoredEnvironment.slice(0, 100) } : {}),
    };
    tx.audit({
      actor: input.recordedBy,
      action: 'signal.recorded',
      entityType: 'signal',
      entityId: row.id,
      data,
    });
    tx.emit({
      type: 'signal.recorded',
      entityType: 'signal',
      entityId: row.id,
      actor: input.recordedBy,
      data: { ...data, message: row.message },
    });

    const halted: string[] = [];
    if (row.state !== 'firing' || (row.severity !== 'error' && row.severity !== 'critical'))
      return { id: row.id, environment: row.environment, halted };
    // Candidates: the CR the signal names, CRs with the tenant in a started wave, CRs whose operation changes the
    // flag. `signalConcerns` then drops those acting in another environment than the signal's (the engine's halt
    // evaluation applies the same rule when it counts the signals of each candidate).
    const candidates = new Set<string>();
    if (row.changeRequestId) candidates.add(row.changeRequestId);
    if (row.tenantId || row.flagKey) {
      const active = await m
        .createQueryBuilder(RolloutEntity, 'r')
        .innerJoin(ChangeRequestEntity, 'c', 'c.id = r.change_request_id')
        .where("r.phase = 'apply' AND c.status IN ('running', 'paused')")
        .getMany();
      let withTenant = new Set<string>();
      if (row.tenantId && active.length > 0) {
        const rows = await m
          .createQueryBuilder(RolloutTargetEntity, 't')
          .innerJoin(ChangeRequestEntity, 'c', 'c.id = t.change_request_id')
          .innerJoin(
            RolloutWaveEntity,
            'w',
            'w.change_request_id = t.change_request_id AND w.phase = t.phase AND w.wave_index = t.wave_index',
          )
          .select('DISTINCT t.change_request_id', 'id')
          .where("t.phase = 'apply' AND w.status <> 'pending' AND c.status IN ('running', 'paused')")
          .andWhere('t.tenant_id = :tenant', { tenant: row.tenantId })
          .getRawMany<{ id: string }>();
        withTenant = new Set(rows.map((r) => r.id));
      }
      for (const r of active) {
        const scope = {
          changeRequestId: r.changeRequestId,
          tenants: withTenant.has(r.changeRequestId) ? new Set([row.tenantId as string]) : new Set<string>(),
          flags: this.registry.find(r.operation)?.signalFlags?.(r.params) ?? [],
        };
        if (signalConcerns(row, scope)) candidates.add(r.changeRequestId);
      }
    }
    for (const crId of candidates) {
      if (await this.engine.haltIfNeeded(tx, crId)) halted.push(crId);
    }
    return { id: row.id, environment: row.environment, halted };
  }
}

async function environmentNames(m: EntityManager): Promise<string[]> {
  const rows = await m.find(EnvironmentEntity, { order: { sortOrder: 'ASC', name: 'ASC' } });
  return rows.map((e) => e.name);
}

/**
 * Alertmanager's webhook body (version 4): each alert is a signal; labels `tenant`, `change_request`, `flag`,
 * `environment` (checked against the known environments by `SignalsService.reportAlerts`).
 */
export function signalsFromAlertmanager(body: unknown, recordedBy: string): SignalInput[] {
  const details: ErrorDetail[] = [];
  const b = body as { alerts?: unknown; receiver?: unknown } | null;
  if (!b || typeof b !== 'object' || !Array.isArray(b.alerts)) {
    throw badRequest(
      'SIGNAL.BAD_ALERTMANAGER_BODY',
      'alerts: expected the Alertmanager webhook body with an alerts list',
      [{ field: 'alerts', reason: 'must be a list of alerts' }],
    );
  }
  if (b.alerts.length > 1000) {
    throw badRequest('SIGNAL.BAD_ALERTMANAGER_BODY', 'alerts: at most 1000 alerts per call', [
      { field: 'alerts', reason: 'at most 1000 alerts' },
    ]);
  }
  const out: SignalInput[] = [];
  b.alerts.forEach((a: unknown, i: number) => {
    const alert = a as { status?: unknown; labels?: unknown; annotations?: unknown } | null;
    if (!alert || typeof alert !== 'object' || !alert.labels || typeof alert.labels !== 'object') {
      details.push({ field: `alerts[${i}].labels`, reason: 'must be an object' });
      return;
    }
    const labels = alert.labels as Record<string, unknown>;
    const ann = (
      alert.annotations && typeof alert.annotations === 'object' ? alert.annotations : {}
    ) as Record<string, unknown>;
    const str = (v: unknown, max: number) => (typeof v === 'string' && v.length > 0 ? v.slice(0, max) : null);
    const sev = str(labels.severity, 20)?.toLowerCase();
    // Alertmanager has no fixed severities; anything unknown is treated as an error (a firing alert is a problem).
    const severity: SignalSeverity =
      sev && (SEVERITIES as readonly string[]).includes(sev)
        ? (sev as SignalSeverity)
        : sev === 'page' || sev === 'fatal'
          ? 'critical'
          : sev === 'warn'
            ? 'warning'
            : 'error';
    const name = str(labels.alertname, 200) ?? 'alert';
    out.push({
      source: `alertmanager:${name}`.slice(0, 100),
      severity,
      state: alert.status === 'resolved' ? 'resolved' : 'firing',
      tenantId: str(labels.tenant, 128),
      changeRequestId: str(labels.change_request, 36),
      flagKey: str(labels.flag, 200),
      environment: str(labels.environment, 100),
      message: (str(ann.summary, 2000) ?? str(ann.description, 2000) ?? name).slice(0, 2000),
      recordedBy,
    });
  });
  if (details.length > 0) {
    throw badRequest(
      'SIGNAL.BAD_ALERTMANAGER_BODY',
      details.map((d) => `${d.field}: ${d.reason}`).join('; '),
      details,
    );
  }
  return out;
}
