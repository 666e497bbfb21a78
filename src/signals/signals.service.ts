import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { badRequest, ErrorDetail } from '../common/errors';
import { TransactionRunner, Tx } from '../common/transaction';
import { ChangeRequestEntity } from '../change-requests/change-request.entity';
import { SignalSeverity } from '../rollouts/domain/halt-policy';
import { RolloutEngine } from '../rollouts/rollout.engine';
import { OperationRegistry } from '../operations/operation.registry';
import { RolloutEntity, RolloutTargetEntity, RolloutWaveEntity } from '../rollouts/rollout.entity';
import { SignalEntity } from './signal.entity';
import { SEVERITIES } from './dto/signal.dto';

/** What any module may report: an error or health observation. */
export interface SignalInput {
  source: string;
  severity: SignalSeverity;
  message: string;
  tenantId?: string | null;
  changeRequestId?: string | null;
  flagKey?: string | null;
  count?: number;
  /** `resolved` is recorded but never counted (an Alertmanager resolution). Default `firing`. */
  state?: 'firing' | 'resolved';
  /** Who reported it (`token:<id>`, `system`, `sdk:<client>`). */
  recordedBy: string;
}

export interface RecordedSignal {
  id: string;
  /** CRs this signal halted. */
  halted: string[];
}

/**
 * Signals (DESIGN.md "Waves and halting"). `record(tx, signal)` is the one entry point, for the HTTP routes and for
 * other modules (the flags/client API reports SDK error reports through it, inside its own transaction): it stores
 * the signal, and in the SAME transaction evaluates the halt policy of every running or paused CR the signal
 * concerns (names the CR, or a tenant / flag of its current or completed waves) and records the halt. So a halt is
 * in the database before the signal's request returns, and no target starts after it.
 */
@Injectable()
export class SignalsService {
  constructor(
    private readonly tx: TransactionRunner,
    private readonly engine: RolloutEngine,
    private readonly registry: OperationRegistry,
  ) {}

  async report(input: SignalInput): Promise<RecordedSignal> {
    return this.tx.run((tx) => this.record(tx, input));
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
      return { id: row.id, halted };
    const candidates = new Set<string>();
    if (row.changeRequestId) candidates.add(row.changeRequestId);
    if (row.tenantId || row.flagKey) {
      const qb = m
        .createQueryBuilder(RolloutTargetEntity, 't')
        .innerJoin(ChangeRequestEntity, 'c', 'c.id = t.change_request_id')
        .innerJoin(
          RolloutWaveEntity,
          'w',
          'w.change_request_id = t.change_request_id AND w.phase = t.phase AND w.wave_index = t.wave_index',
        )
        .select('DISTINCT t.change_request_id', 'id')
        .where("t.phase = 'apply' AND w.status <> 'pending' AND c.status IN ('running', 'paused')");
      if (row.tenantId && row.flagKey) {
        qb.andWhere("(t.tenant_id = :tenant OR (t.target_type = 'flag' AND t.target_id = :flag))", {
          tenant: row.tenantId,
          flag: row.flagKey,
        });
      } else if (row.tenantId) qb.andWhere('t.tenant_id = :tenant', { tenant: row.tenantId });
      else qb.andWhere("t.target_type = 'flag' AND t.target_id = :flag", { flag: row.flagKey });
      for (const r of await qb.getRawMany<{ id: string }>()) candidates.add(r.id);
    }
    if (row.flagKey) {
      // Operations that name a flag in their params (`flag.rollout` targets tenants, not the flag).
      const active = await m
        .createQueryBuilder(RolloutEntity, 'r')
        .innerJoin(ChangeRequestEntity, 'c', 'c.id = r.change_request_id')
        .where("r.phase = 'apply' AND c.status IN ('running', 'paused')")
        .getMany();
      for (const r of active) {
        if (this.registry.find(r.operation)?.signalFlagKeys?.(r.params).includes(row.flagKey))
          candidates.add(r.changeRequestId);
      }
    }
    for (const crId of candidates) {
      if (await this.engine.haltIfNeeded(tx, crId)) halted.push(crId);
    }
    return { id: row.id, halted };
  }
}

/** Alertmanager's webhook body (version 4): each alert is a signal; labels `tenant`, `change_request`, `flag`. */
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
