// Halting (docs/decisions/0005-wave-engine.md, "Halting and signals"): the halt policy's verdict on a CR from its
// stored per-target results and the signals that concern it (`signalConcerns`, ADR 0007), and recording the halt in
// the transaction that saw the deciding fact (a target's failure here, a signal in SignalsService).
import { Brackets, EntityManager } from 'typeorm';
import { Tx } from '../common/transaction';
import { ChangeRequestEntity } from '../change-requests/change-request.entity';
import { SYSTEM_ACTOR } from '../change-requests/domain/lifecycle';
import { OperationRegistry } from '../operations/operation.registry';
import { SignalEntity } from '../signals/signal.entity';
import { CrSignalScope, signalConcerns } from '../signals/signal-scope';
import { decideOn, persistDecision } from './cr.transitions';
import { decideHalt, HaltDecision, WaveTally, WindowSignal } from '../change-requests/domain/halt-policy';
import { RolloutEntity, RolloutTargetEntity, RolloutWaveEntity } from './rollout.entity';
import { rolloutStore } from './rollout.store';

export class RolloutHalts {
  constructor(private readonly registry: OperationRegistry) {}

  /** The halt policy's verdict on the CR now, from the stored results and the signals that concern it. */
  async evaluateHalt(m: EntityManager, crId: string, now: Date): Promise<HaltDecision> {
    const rollout = await rolloutStore.find(m, crId);
    if (!rollout || rollout.phase !== 'apply') return { halt: false };
    const waves = await rolloutStore.waves(m, crId, 'apply');
    const current = currentWave(waves);
    const tallies = new Map<number, WaveTally>();
    for (const w of waves)
      tallies.set(w.waveIndex, { index: w.waveIndex, succeeded: 0, failed: 0, total: w.size });
    for (const c of await rolloutStore.counts(m, crId, 'apply')) {
      const t = tallies.get(c.waveIndex);
      if (!t) continue;
      if (c.status === 'succeeded' || c.status === 'rolled_back') t.succeeded += c.n;
      if (c.status === 'failed') t.failed += c.n;
    }
    const failures = await m.find(RolloutTargetEntity, {
      where: { changeRequestId: crId, phase: 'apply', status: 'failed' },
      order: { finishedAt: 'ASC', position: 'ASC' },
      take: 1000,
    });
    for (const f of failures) {
      const t = tallies.get(f.waveIndex);
      if (!t) continue;
      const entry = { target: `${f.targetType}:${f.targetId}`, error: f.error ?? 'failed' };
      t.firstFailure ??= entry;
      t.latestFailure = entry;
    }
    const signals = await this.signalsFor(m, rollout, current, now);
    const ack = rollout.acknowledged
      ? { at: new Date(rollout.acknowledged.at), failedByWave: rollout.acknowledged.failedByWave }
      : undefined;
    return decideHalt(rollout.haltPolicy, [...tallies.values()], current, signals, now, ack);
  }

  /**
   * Signals that count against a CR (`signalConcerns`, ADR 0007): those naming it, and those naming a tenant of its
   * current or completed waves or a flag its operation changes (`signalFlags`), unless they name an environment the
   * CR does not act in. Executor failures are judged as failures by the halt policy, not a second time as signals.
   */
  private async signalsFor(
    m: EntityManager,
    rollout: RolloutEntity,
    current: number,
    now: Date,
  ): Promise<WindowSignal[]> {
    const since = new Date(now.getTime() - rollout.haltPolicy.signalWindowSeconds * 1000);
    const rows = await this.concerningSignals(m, rollout, current, { since, countedOnly: true });
    return rows.map((s) => ({
      severity: s.severity,
      count: s.count,
      at: s.at,
      source: s.source,
      message: s.message,
      ...(s.tenantId ? { tenantId: s.tenantId } : {}),
    }));
  }

  /** What a CR's rollout touches up to wave `current`, for `signalConcerns`; tenants are only read when `rows` need them. */
  private async signalScope(
    m: EntityManager,
    rollout: RolloutEntity,
    current: number,
    rows: readonly SignalEntity[],
  ): Promise<CrSignalScope> {
    const scope: CrSignalScope = { changeRequestId: rollout.changeRequestId, tenants: new Set(), flags: [] };
    if (!rows.some((s) => s.changeRequestId !== rollout.changeRequestId)) return scope;
    const touched = await m
      .createQueryBuilder(RolloutTargetEntity, 't')
      .select(['t.tenantId'])
      .where('t.change_request_id = :crId AND t.phase = :phase AND t.wave_index <= :current', {
        crId: rollout.changeRequestId,
        phase: 'apply',
        current,
      })
      .getMany();
    // A flag operation names its flags, each in its environment (an SDK error report carries the flag key and
    // its token's environment, not a target id).
    const flags = this.registry.find(rollout.operation)?.signalFlags?.(rollout.params) ?? [];
    return { ...scope, tenants: new Set(touched.map((t) => t.tenantId)), flags };
  }

  /**
   * Every signal that concerns the CR's rollout since it started, newest first, by the rule the halt policy uses
   * (`signalConcerns`, ADR 0007), whatever its state or severity and whether or not it is still in the policy's
   * window; executor failures are per-target results, not listed here. Empty when the CR never ran.
   */
  async signalsOf(m: EntityManager, crId: string, limit: number): Promise<SignalEntity[]> {
    const rollout = await rolloutStore.find(m, crId);
    if (!rollout) return [];
    const current = currentWave(await rolloutStore.waves(m, crId, 'apply'));
    const rows = await this.concerningSignals(m, rollout, current, {
      since: rollout.startedAt,
      countedOnly: false,
    });
    return rows.slice(0, limit);
  }

  /**
   * The signals since `since` that concern the rollout (`signalConcerns`), executor failures excluded. `countedOnly`:
   * what the halt policy counts (firing errors and criticals strictly inside its window, oldest first); otherwise
   * every signal since `since`, newest first.
   */
  private async concerningSignals(
    m: EntityManager,
    rollout: RolloutEntity,
    current: number,
    q: { since: Date; countedOnly: boolean },
  ): Promise<SignalEntity[]> {
    const qb = m
      .createQueryBuilder(SignalEntity, 's')
      .where(`s.at ${q.countedOnly ? '>' : '>='} :since AND s.source <> :executor`, {
        since: q.since,
        executor: 'executor',
      })
      .andWhere(
        new Brackets((b) =>
          b
            .where('s.change_request_id = :crId', { crId: rollout.changeRequestId })
            .orWhere('s.tenant_id IS NOT NULL')
            .orWhere('s.flag_key IS NOT NULL'),
        ),
      );
    if (q.countedOnly) qb.andWhere("s.state = 'firing' AND s.severity IN ('error', 'critical')");
    const rows = await qb
      .orderBy('s.at', q.countedOnly ? 'ASC' : 'DESC')
      .take(5000)
      .getMany();
    const scope = await this.signalScope(m, rollout, current, rows);
    return rows.filter((s) => signalConcerns(s, scope));
  }

  /** Evaluates and, when the policy says so, records the halt in `tx`. Returns whether the CR is now halted. */
  async haltIfNeeded(tx: Tx, crId: string): Promise<boolean> {
    const cr = await tx.manager.findOne(ChangeRequestEntity, { where: { id: crId } });
    if (!cr || (cr.status !== 'running' && cr.status !== 'paused')) return cr?.status === 'halted';
    const verdict = await this.evaluateHalt(tx.manager, crId, tx.now);
    if (!verdict.halt) return false;
    const d = await decideOn(tx, cr, { type: 'halt', reason: verdict.reason }, SYSTEM_ACTOR);
    await persistDecision(
      tx,
      cr,
      d,
      SYSTEM_ACTOR,
      {},
      { rule: verdict.rule, ...(verdict.waveIndex ? { wave: verdict.waveIndex } : {}) },
    );
    await tx.manager.update(
      RolloutEntity,
      { changeRequestId: crId },
      { haltRule: verdict.rule, haltReason: verdict.reason },
    );
    return true;
  }
}

/** The index of the latest wave that has started (1 before any has). */
function currentWave(waves: readonly RolloutWaveEntity[]): number {
  const started = waves.filter((w) => w.status !== 'pending');
  return started.length > 0 ? started[started.length - 1].waveIndex : 1;
}
