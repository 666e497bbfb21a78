import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Brackets, EntityManager, In, QueryFailedError } from 'typeorm';
import { deriveKey } from '../auth/token.codec';
import { Clock } from '../common/clock';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { assertAllowed, callHttpTarget } from '../operations/http.apply';
import type { HttpParams } from '../operations/builtin.operations';
import { DomainError } from '../common/errors';
import { TransactionRunner, Tx } from '../common/transaction';
import { ChangeRequestEntity, ChangeRequestPlanEntity } from '../change-requests/change-request.entity';
import { SYSTEM_ACTOR } from '../change-requests/domain/lifecycle';
import { OperationRegistry } from '../operations/operation.registry';
import { Operation, PlannedTarget, targetRef } from '../operations/operation.types';
import { EngineExecutionContext } from '../operations/builtin.apply';
import { SignalEntity } from '../signals/signal.entity';
import { CrSignalScope, signalConcerns } from '../signals/signal-scope';
import { decideOn, persistDecision } from './cr.transitions';
import {
  DEFAULT_HALT_POLICY,
  decideHalt,
  HaltDecision,
  HaltPolicy,
  validateHaltPolicy,
  WaveTally,
  WindowSignal,
} from './domain/halt-policy';
import { ENGINE_SETTINGS, EngineSettings } from './engine.settings';
import { RolloutEntity, RolloutPhase, RolloutTargetEntity, RolloutWaveEntity } from './rollout.entity';
import { executeWrite } from './raw-statement';
import { rolloutStore } from './rollout.store';

interface StoredPlan {
  operation: string;
  params?: Record<string, unknown>;
  haltPolicy?: Partial<HaltPolicy>;
  waveSettings?: { bakeSeconds?: number };
  waves: { index: number; targets: PlannedTarget[] }[];
}

/** Statuses in which the engine works on a CR, per phase. */
const ACTIVE_STATUS: Record<RolloutPhase, 'running' | 'rolling_back'> = {
  apply: 'running',
  undo: 'rolling_back',
};
const FETCH = 256;
const YIELD_EVERY_MS = 10;
const WAKE_EVENTS = new Set([
  'change_request.started',
  'change_request.resumed',
  'change_request.rollback_started',
]);

export const applyKey = (crId: string, revision: number, t: { type: string; id: string }) =>
  `${crId}:${revision}:${t.type}:${t.id}`;
export const undoKey = (crId: string, revision: number, t: { type: string; id: string }) =>
  `${crId}:${revision}:undo:${t.type}:${t.id}`;

/**
 * The wave engine (docs/decisions/0005-wave-engine.md). A runner loop per process claims a CR with a lease (a
 * conditional UPDATE, the same on SQLite and PostgreSQL), runs the current wave's targets with bounded concurrency,
 * each in ONE transaction (guard: CR status and lease -> claim the target -> drift check, snapshot and effect in the
 * operation -> mark succeeded -> audit entry + outbox event), waits out the bake on the injected clock, and
 * completes the CR. Halts are recorded by whoever sees the deciding fact (a failure here, a signal in
 * SignalsService) in that fact's transaction; every target transaction re-reads the CR status first, so no target
 * starts after a halt is recorded.
 */
@Injectable()
export class RolloutEngine implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RolloutEngine.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private lastYield = 0;
  private readonly httpKey: Buffer;

  constructor(
    private readonly tx: TransactionRunner,
    private readonly registry: OperationRegistry,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(ENGINE_SETTINGS) readonly settings: EngineSettings,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.httpKey = deriveKey(config.secret, 'http-operation');
    // Start promptly when a CR is started or resumed through the API (the poll interval is the fallback).
    tx.onCommit((events) => {
      if (events.some((e) => WAKE_EVENTS.has(e.type))) this.poke();
    });
  }

  onApplicationBootstrap(): void {
    if (!this.settings.enabled) return;
    this.timer = setInterval(() => this.poke(), this.settings.pollMs);
    this.timer.unref();
    this.poke();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Wakes the runner; runs never overlap in one process, and a poke during a run causes one more. */
  poke(): void {
    if (this.stopped || !this.settings.enabled) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.tick()
      .catch((e: unknown) =>
        this.logger.error(`engine tick failed: ${e instanceof Error ? e.stack : String(e)}`),
      )
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.poke();
        }
      });
  }

  /** Resolves when the current tick (if any) is over; for tests and shutdown. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  // --- starting ---------------------------------------------------------------------------------------------------

  /** Materialises the stored plan into waves and targets (called in the execute transaction). */
  async materialise(tx: Tx, cr: ChangeRequestEntity): Promise<{ waves: number; targets: number }> {
    const m = tx.manager;
    const planRow = await m.findOne(ChangeRequestPlanEntity, { where: { changeRequestId: cr.id } });
    if (!planRow || planRow.revision !== cr.revision || planRow.planHash !== cr.planHash) {
      throw new DomainError(
        'conflict',
        'ROLLOUT.PLAN_MISMATCH',
        `the stored plan of ${cr.id} is not the approved revision`,
      );
    }
    const plan = JSON.parse(planRow.plan) as StoredPlan;
    const op = this.registry.get(cr.operation);
    if (!op.apply && op.name !== 'http') {
      throw new DomainError(
        'unprocessable',
        'ROLLOUT.NOT_EXECUTABLE',
        `operation ${op.name} cannot be executed yet`,
      );
    }
    const haltPolicy = plan.haltPolicy ? validateHaltPolicy(plan.haltPolicy) : { ...DEFAULT_HALT_POLICY };
    await m.insert(RolloutEntity, {
      changeRequestId: cr.id,
      revision: cr.revision,
      operation: cr.operation,
      params: (plan.params ?? {}) as never,
      haltPolicy: haltPolicy as never,
      phase: 'apply',
      bakeSeconds: plan.waveSettings?.bakeSeconds ?? 600,
      nextWaveAt: null,
      leaseOwner: null,
      leaseUntil: null,
      acknowledged: null,
      haltRule: null,
      haltReason: null,
      startedAt: tx.now,
      finishedAt: null,
    });
    const waves: RolloutWaveEntity[] = [];
    const targets: RolloutTargetEntity[] = [];
    for (const w of plan.waves) {
      waves.push(this.wave(cr.id, 'apply', w.index, w.targets.length));
      w.targets.forEach((t, position) =>
        targets.push(this.target(cr.id, 'apply', w.index, position, t, applyKey(cr.id, cr.revision, t))),
      );
    }
    await rolloutStore.insertWaves(m, waves);
    await rolloutStore.insertTargets(m, targets);
    return { waves: waves.length, targets: targets.length };
  }

  /** Rollback: skips what never ran and plans the undo of what succeeded, newest wave first, as waves of its own. */
  async planRollback(tx: Tx, cr: ChangeRequestEntity): Promise<{ waves: number; targets: number }> {
    const m = tx.manager;
    const rollout = await rolloutStore.find(m, cr.id);
    if (!rollout)
      throw new DomainError('conflict', 'ROLLOUT.NOT_STARTED', `change request ${cr.id} never ran`);
    const op = this.registry.get(cr.operation);
    if (!op.undo) {
      throw new DomainError(
        'unprocessable',
        'CHANGE_REQUEST.NOT_REVERSIBLE',
        `operation ${op.name} cannot be undone`,
      );
    }
    await m.update(
      RolloutTargetEntity,
      { changeRequestId: cr.id, phase: 'apply', status: In(['pending', 'running']) },
      { status: 'skipped', finishedAt: tx.now },
    );
    const done = await m.find(RolloutTargetEntity, {
      where: { changeRequestId: cr.id, phase: 'apply', status: 'succeeded' },
      order: { waveIndex: 'DESC', position: 'DESC' },
    });
    const byWave = new Map<number, RolloutTargetEntity[]>();
    for (const t of done) byWave.set(t.waveIndex, [...(byWave.get(t.waveIndex) ?? []), t]);
    const waves: RolloutWaveEntity[] = [];
    const targets: RolloutTargetEntity[] = [];
    let index = 0;
    for (const [, list] of byWave) {
      index++;
      waves.push(this.wave(cr.id, 'undo', index, list.length));
      list.forEach((t, position) =>
        targets.push(
          this.target(cr.id, 'undo', index, position, t.planned, undoKey(cr.id, cr.revision, t.planned)),
        ),
      );
    }
    await rolloutStore.insertWaves(m, waves);
    await rolloutStore.insertTargets(m, targets);
    await m.update(
      RolloutEntity,
      { changeRequestId: cr.id },
      { phase: 'undo', nextWaveAt: null, finishedAt: null },
    );
    return { waves: waves.length, targets: targets.length };
  }

  private wave(crId: string, phase: RolloutPhase, index: number, size: number): RolloutWaveEntity {
    return Object.assign(new RolloutWaveEntity(), {
      id: `${crId}:${phase}:${index}`,
      changeRequestId: crId,
      phase,
      waveIndex: index,
      size,
      status: 'pending',
      startedAt: null,
      finishedAt: null,
    });
  }

  private target(
    crId: string,
    phase: RolloutPhase,
    wave: number,
    position: number,
    t: PlannedTarget,
    key: string,
  ): RolloutTargetEntity {
    return Object.assign(new RolloutTargetEntity(), {
      id: randomUUID(),
      changeRequestId: crId,
      phase,
      waveIndex: wave,
      position,
      targetType: t.type,
      targetId: t.id,
      tenantId: t.tenantId,
      planned: t,
      status: 'pending',
      attempts: 0,
      error: null,
      idempotencyKey: key,
      snapshotId: null,
      startedAt: null,
      finishedAt: null,
    });
  }

  // --- halting ----------------------------------------------------------------------------------------------------

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

  // --- the runner -------------------------------------------------------------------------------------------------

  private async tick(): Promise<void> {
    await this.startScheduled();
    const now = this.clock.now();
    const candidates = await this.tx.run(async (tx) =>
      tx.manager
        .createQueryBuilder(RolloutEntity, 'r')
        .innerJoin(ChangeRequestEntity, 'c', 'c.id = r.change_request_id')
        .select('r.change_request_id', 'id')
        .where("c.status IN ('running', 'rolling_back') AND r.finished_at IS NULL")
        .andWhere(
          new Brackets((b) =>
            b
              .where('r.lease_owner = :me', { me: this.settings.workerId })
              .orWhere('r.lease_until IS NULL')
              .orWhere('r.lease_until < :now', { now }),
          ),
        )
        .orderBy('r.started_at', 'ASC')
        .getRawMany<{ id: string }>(),
    );
    for (const { id } of candidates) {
      if (this.stopped) return;
      await this.drive(id);
    }
  }

  /**
   * Approved CRs whose scheduledAt has come are started by the system; CRs started through the change-request API
   * (execute, break-glass) have no rollout yet: their stored plan is materialised here, once (the rollout's primary
   * key makes a second replica's attempt fail harmlessly).
   */
  private async startScheduled(): Promise<void> {
    const now = this.clock.now();
    const due = await this.tx.run(async (tx) =>
      tx.manager
        .createQueryBuilder(ChangeRequestEntity, 'c')
        .leftJoin(RolloutEntity, 'r', 'r.change_request_id = c.id')
        .select('c.id', 'id')
        .addSelect('c.status', 'status')
        .where('r.change_request_id IS NULL')
        .andWhere(
          new Brackets((b) =>
            b
              .where("c.status = 'running'")
              .orWhere("c.status = 'approved' AND c.scheduled_at IS NOT NULL AND c.scheduled_at <= :now", {
                now,
              }),
          ),
        )
        .getRawMany<{ id: string; status: string }>(),
    );
    for (const { id } of due) {
      try {
        await this.tx.run(async (tx) => {
          const cr = await tx.manager.findOne(ChangeRequestEntity, { where: { id } });
          if (!cr || (await rolloutStore.find(tx.manager, id))) return;
          if (cr.status === 'approved') {
            const d = await decideOn(tx, cr, { type: 'execute' }, SYSTEM_ACTOR);
            await persistDecision(tx, cr, d, SYSTEM_ACTOR, {}, { scheduled: true });
          } else if (cr.status !== 'running') return;
          await this.materialise(tx, cr);
        });
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        this.logger.warn(`start of ${id} failed: ${reason}`);
        // Only a refusal about the CR itself halts it; a database error (e.g. another replica materialised the same
        // CR at the same moment: duplicate key) is retried on the next tick, which finds the rollout there.
        if (e instanceof DomainError) await this.haltUnstartable(id, reason).catch(() => undefined);
      }
    }
  }

  /** A running CR whose plan cannot be materialised must not sit silently in `running`: halt it, saying why. */
  private async haltUnstartable(id: string, reason: string): Promise<void> {
    await this.tx.run(async (tx) => {
      const cr = await tx.manager.findOne(ChangeRequestEntity, { where: { id } });
      if (!cr || cr.status !== 'running') return;
      const d = await decideOn(tx, cr, { type: 'halt', reason: `could not start: ${reason}` }, SYSTEM_ACTOR);
      await persistDecision(tx, cr, d, SYSTEM_ACTOR);
    });
  }

  /** Takes or renews the lease with one conditional UPDATE; true when this process holds it. */
  private async claim(crId: string): Promise<boolean> {
    return this.tx.run(async (tx) => {
      const now = tx.now;
      const res = await tx.manager
        .createQueryBuilder()
        .update(RolloutEntity)
        .set({
          leaseOwner: this.settings.workerId,
          leaseUntil: new Date(now.getTime() + this.settings.leaseMs),
        })
        .where('change_request_id = :crId AND finished_at IS NULL', { crId })
        .andWhere(
          new Brackets((b) =>
            b
              .where('lease_owner = :me', { me: this.settings.workerId })
              .orWhere('lease_until IS NULL')
              .orWhere('lease_until < :now', { now }),
          ),
        )
        .execute();
      return res.affected === 1;
    });
  }

  private async drive(crId: string): Promise<void> {
    for (;;) {
      if (this.stopped || !(await this.claim(crId))) return;
      const step = await this.step(crId);
      if (step === 'wait') return;
    }
  }

  /** One step: start the next wave, run a batch of targets, finish a wave, or complete the CR. */
  private async step(crId: string): Promise<'again' | 'wait'> {
    const state = await this.tx.run(async (tx) => {
      const cr = await tx.manager.findOne(ChangeRequestEntity, { where: { id: crId } });
      const rollout = await rolloutStore.find(tx.manager, crId);
      if (!cr || !rollout) return null;
      const waves = await rolloutStore.waves(tx.manager, crId, rollout.phase);
      return { cr, rollout, wave: waves.find((w) => w.status !== 'completed') ?? null };
    });
    if (!state || state.cr.status !== ACTIVE_STATUS[state.rollout.phase]) return 'wait';
    const { rollout, wave } = state;
    if (!wave) {
      await this.complete(crId, rollout.phase);
      return 'wait';
    }
    if (wave.status === 'pending') {
      if (rollout.nextWaveAt && this.clock.now().getTime() < rollout.nextWaveAt.getTime()) return 'wait';
      return (await this.startWave(crId, rollout.phase, wave)) ? 'again' : 'wait';
    }
    const batch = await this.tx.run(async (tx) =>
      tx.manager.find(RolloutTargetEntity, {
        where: {
          changeRequestId: crId,
          phase: rollout.phase,
          waveIndex: wave.waveIndex,
          status: In(['pending', 'running']),
        },
        order: { position: 'ASC' },
        take: FETCH,
      }),
    );
    if (batch.length === 0) {
      await this.finishWave(crId, rollout, wave);
      return 'again';
    }
    const op = this.registry.get(rollout.operation);
    if (op.name === 'http') return this.runExternal(rollout, batch);
    const size = this.settings.batchSize;
    const chunks: RolloutTargetEntity[][] = [];
    for (let i = 0; i < batch.length; i += size) chunks.push(batch.slice(i, i + size));
    let stop = false;
    let next = 0;
    const worker = async () => {
      while (!stop && !this.stopped && next < chunks.length) {
        const chunk = chunks[next++];
        if ((await this.runBatch(op, rollout, chunk)) === 'stopped') stop = true;
        // better-sqlite3 answers synchronously, so without this the loop would never yield to the event loop and
        // HTTP requests (a signal, a pause, a progress read) would wait for the whole wave.
        if (performance.now() - this.lastYield > YIELD_EVERY_MS) {
          await new Promise((r) => setImmediate(r));
          this.lastYield = performance.now();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.concurrency, chunks.length) }, worker));
    return stop ? 'wait' : 'again';
  }

  private async startWave(crId: string, phase: RolloutPhase, wave: RolloutWaveEntity): Promise<boolean> {
    return this.tx.run(async (tx) => {
      if (!(await this.guard(tx, crId, phase))) return false;
      // Conditional: a wave starts (and its event is written) once, whatever replica or retry gets here.
      const res = await tx.manager.update(
        RolloutWaveEntity,
        { id: wave.id, status: 'pending' },
        { status: 'running', startedAt: tx.now },
      );
      if (res.affected !== 1) return true;
      const type = phase === 'apply' ? 'change_request.wave_started' : 'change_request.rollback_wave_started';
      const data = { wave: wave.waveIndex, size: wave.size, phase };
      tx.audit({ actor: 'system', action: type, entityType: 'change_request', entityId: crId, data });
      tx.emit({ type, entityType: 'change_request', entityId: crId, actor: 'system', data });
      return true;
    });
  }

  private async finishWave(crId: string, rollout: RolloutEntity, wave: RolloutWaveEntity): Promise<void> {
    await this.tx.run(async (tx) => {
      if (!(await this.guard(tx, crId, rollout.phase))) return;
      const counts: Record<string, number> = {};
      for (const c of await rolloutStore.counts(tx.manager, crId, rollout.phase)) {
        if (c.waveIndex === wave.waveIndex) counts[c.status] = c.n;
      }
      const res = await tx.manager.update(
        RolloutWaveEntity,
        { id: wave.id, status: 'running' },
        { status: 'completed', finishedAt: tx.now },
      );
      if (res.affected !== 1) return;
      // Rollback waves do not bake: putting tenants back should not wait.
      const bakeMs = rollout.phase === 'apply' ? rollout.bakeSeconds * 1000 : 0;
      await tx.manager.update(
        RolloutEntity,
        { changeRequestId: crId },
        { nextWaveAt: new Date(tx.now.getTime() + bakeMs) },
      );
      const type =
        rollout.phase === 'apply'
          ? 'change_request.wave_completed'
          : 'change_request.rollback_wave_completed';
      const data = { wave: wave.waveIndex, phase: rollout.phase, counts, bakeSeconds: bakeMs / 1000 };
      tx.audit({ actor: 'system', action: type, entityType: 'change_request', entityId: crId, data });
      tx.emit({ type, entityType: 'change_request', entityId: crId, actor: 'system', data });
    });
  }

  private async complete(crId: string, phase: RolloutPhase): Promise<void> {
    await this.tx.run(async (tx) => {
      const cr = await tx.manager.findOne(ChangeRequestEntity, { where: { id: crId } });
      if (!cr || cr.status !== ACTIVE_STATUS[phase]) return;
      const counts: Record<string, number> = {};
      for (const c of await rolloutStore.counts(tx.manager, crId, phase))
        counts[c.status] = (counts[c.status] ?? 0) + c.n;
      const d = await decideOn(tx, cr, { type: 'complete' }, SYSTEM_ACTOR);
      const failed = counts.failed ?? 0;
      const reason =
        phase === 'undo' && failed > 0
          ? `${failed} target(s) could not be rolled back; see the targets list`
          : undefined;
      await persistDecision(tx, cr, d, SYSTEM_ACTOR, reason ? { statusReason: reason } : {}, {
        counts,
        phase,
      });
      await tx.manager.update(
        RolloutEntity,
        { changeRequestId: crId },
        { finishedAt: tx.now, leaseOwner: null, leaseUntil: null },
      );
    });
  }

  /**
   * Inside a target's (or wave's) transaction: is the CR still in the phase's active status and is the lease still
   * ours? On PostgreSQL the rows are read FOR SHARE, so a halt or a lease takeover waits for this transaction and
   * the next one sees it.
   */
  private async guard(tx: Tx, crId: string, phase: RolloutPhase): Promise<boolean> {
    const qb = tx.manager
      .createQueryBuilder(RolloutEntity, 'r')
      .innerJoin(ChangeRequestEntity, 'c', 'c.id = r.change_request_id')
      .select('c.status', 'status')
      .where('r.change_request_id = :crId AND r.lease_owner = :me AND r.lease_until >= :now', {
        crId,
        me: this.settings.workerId,
        now: tx.now,
      });
    if (this.tx.isPostgres) qb.setLock('pessimistic_read');
    const row = await qb.getRawOne<{ status: string }>();
    return row?.status === ACTIVE_STATUS[phase];
  }

  /**
   * The `http` operation: each target is marked running (committed), called outside any transaction, and its
   * outcome recorded in a second transaction. A crash in between leaves it `running`; it is called again with the
   * same Idempotency-Key, which the downstream service uses to apply it once.
   */
  private async runExternal(rollout: RolloutEntity, batch: RolloutTargetEntity[]): Promise<'again' | 'wait'> {
    const crId = rollout.changeRequestId;
    let stop = false;
    let next = 0;
    const worker = async () => {
      while (!stop && !this.stopped && next < batch.length) {
        const t = batch[next++];
        const claimed = await this.tx.run(async (tx) => {
          if (!(await this.guard(tx, crId, 'apply'))) return 'stopped' as const;
          const ok = await rolloutStore.moveTarget(
            tx.manager,
            t.id,
            ['pending', 'running'],
            { status: 'running', startedAt: tx.now },
            true,
          );
          return ok ? ('claimed' as const) : ('gone' as const);
        });
        if (claimed === 'stopped') {
          stop = true;
          return;
        }
        if (claimed === 'gone') continue;
        let failure: string | null = null;
        try {
          await this.tx.run((tx) => assertAllowed(tx.manager, (rollout.params as unknown as HttpParams).url));
          await callHttpTarget({
            target: t.planned,
            params: rollout.params as unknown as HttpParams,
            changeRequestId: crId,
            revision: rollout.revision,
            idempotencyKey: t.idempotencyKey,
            key: this.httpKey,
            now: () => this.clock.now(),
            timeoutMs: this.settings.httpTimeoutMs,
            backoffMs: [this.settings.httpBackoffMs, this.settings.httpBackoffMs * 4],
          });
        } catch (e) {
          failure = e instanceof Error ? e.message : String(e);
        }
        // The call happened: its outcome is recorded even if the CR was halted meanwhile.
        const halted = await this.tx.run(async (tx) => {
          if (failure !== null) return this.recordFailure(tx, rollout, t, failure);
          const moved = await rolloutStore.moveTarget(tx.manager, t.id, ['running'], {
            status: 'succeeded',
            finishedAt: tx.now,
            error: null,
          });
          if (!moved) return false;
          const data = { target: targetRef(t.planned), wave: t.waveIndex, idempotencyKey: t.idempotencyKey };
          tx.audit({
            actor: 'system',
            action: 'change_request.target_succeeded',
            entityType: 'change_request',
            entityId: crId,
            data,
          });
          tx.emit({
            type: 'change_request.target_succeeded',
            entityType: 'change_request',
            entityId: crId,
            actor: 'system',
            data,
          });
          return false;
        });
        if (halted) stop = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.concurrency, batch.length) }, worker));
    return stop ? 'wait' : 'again';
  }

  /**
   * The fast path: the whole batch in one transaction without savepoints (each target: claim-and-apply, mark
   * succeeded, audit entry, outbox event). If any target throws, that transaction rolls back as a whole and the batch
   * is run again the careful way (`runCarefully`), where a failing target rolls back alone and is recorded.
   */
  private async runBatch(
    op: Operation<unknown>,
    rollout: RolloutEntity,
    batch: RolloutTargetEntity[],
  ): Promise<'ok' | 'stopped'> {
    if (batch.length === 1) return this.runCarefully(op, rollout, batch);
    const crId = rollout.changeRequestId;
    const phase = rollout.phase;
    const fn = phase === 'apply' ? op.apply : op.undo;
    if (!fn) return this.runCarefully(op, rollout, batch);
    try {
      return await this.tx.run(async (tx) => {
        if (!(await this.guard(tx, crId, phase))) return 'stopped';
        for (const t of batch) {
          const ctx: EngineExecutionContext<unknown> = {
            tx,
            changeRequestId: crId,
            revision: rollout.revision,
            params: rollout.params,
            idempotencyKey: t.idempotencyKey,
            result: {},
          };
          await fn.call(op, t.planned, ctx as never);
          await this.markSucceeded(tx, rollout, t, ctx.result, false);
        }
        return 'ok';
      });
    } catch {
      return this.runCarefully(op, rollout, batch);
    }
  }

  private async markSucceeded(
    tx: Tx,
    rollout: RolloutEntity,
    t: RolloutTargetEntity,
    result: EngineExecutionContext<unknown>['result'],
    claimedAlready: boolean,
  ): Promise<void> {
    const crId = rollout.changeRequestId;
    const phase = rollout.phase;
    // Conditional, and counts the attempt: on the fast path this is the claim too. A target someone else finished
    // meanwhile matches no row, and the whole batch rolls back (then runs the careful way, which skips it).
    const done =
      (await executeWrite(
        tx.manager,
        "UPDATE rollout_targets SET status = 'succeeded', started_at = ?, finished_at = ?, error = NULL, " +
          "snapshot_id = ?, attempts = attempts + ? WHERE id = ? AND status IN ('pending', 'running')",
        [
          t.status === 'pending' ? tx.now : (t.startedAt ?? tx.now),
          tx.now,
          result.snapshotId ?? null,
          claimedAlready ? 0 : 1,
          t.id,
        ],
      )) === 1;
    if (!done) throw new Error(`target ${t.idempotencyKey} was finished by someone else`);
    if (phase === 'undo') {
      await tx.manager.update(
        RolloutTargetEntity,
        { changeRequestId: crId, phase: 'apply', targetType: t.targetType, targetId: t.targetId },
        { status: 'rolled_back' },
      );
    }
    const type = phase === 'apply' ? 'change_request.target_succeeded' : 'change_request.target_rolled_back';
    const data = {
      target: targetRef(t.planned),
      wave: t.waveIndex,
      idempotencyKey: t.idempotencyKey,
      ...(result.snapshotId ? { snapshotId: result.snapshotId, snapshotHash: result.snapshotHash } : {}),
    };
    tx.audit({ actor: 'system', action: type, entityType: 'change_request', entityId: crId, data });
    tx.emit({ type, entityType: 'change_request', entityId: crId, actor: 'system', data });
  }

  /**
   * Runs a batch of targets in ONE transaction, each target inside its own savepoint: a target's effect, snapshot,
   * audit entry and outbox event commit together (with the batch) or not at all, and a failing target rolls back
   * alone and is recorded as failed. Batching only amortises the transaction and ledger overhead; the guard runs
   * first, so after a halt or a lost lease no target of the batch starts.
   */
  private async runCarefully(
    op: Operation<unknown>,
    rollout: RolloutEntity,
    batch: RolloutTargetEntity[],
  ): Promise<'ok' | 'stopped'> {
    const crId = rollout.changeRequestId;
    const phase = rollout.phase;
    const fn = phase === 'apply' ? op.apply : op.undo;
    return this.tx.run(async (tx) => {
      if (!(await this.guard(tx, crId, phase))) return 'stopped';
      for (const t of batch) {
        const audits: Parameters<Tx['audit']>[0][] = [];
        const events: Parameters<Tx['emit']>[0][] = [];
        let failure: string | null = null;
        let claimed = true;
        try {
          await tx.manager.transaction(async (sp) => {
            const child: Tx = {
              manager: sp,
              now: tx.now,
              audit: (e) => audits.push(e),
              emit: (e) => events.push(e),
              afterCommit: (f) => tx.afterCommit(f),
            };
            claimed = await rolloutStore.moveTarget(
              sp,
              t.id,
              ['pending', 'running'],
              { status: 'running', startedAt: tx.now },
              true,
            );
            if (!claimed) return;
            const ctx: EngineExecutionContext<unknown> = {
              tx: child,
              changeRequestId: crId,
              revision: rollout.revision,
              params: rollout.params,
              idempotencyKey: t.idempotencyKey,
              result: {},
            };
            if (!fn) throw new Error(`operation ${op.name} has no ${phase === 'apply' ? 'apply' : 'undo'}`);
            await fn.call(op, t.planned, ctx as never);
            await this.markSucceeded(child, rollout, t, ctx.result, true);
          });
        } catch (e) {
          // A database error (deadlock, serialization, lost connection) says nothing about the target: the batch
          // rolls back and is retried on the next tick. Anything else the operation threw is the target's failure.
          if (e instanceof QueryFailedError) throw e;
          failure = e instanceof Error ? e.message : String(e);
          if (!(e instanceof DomainError)) this.logger.warn(`target ${t.idempotencyKey} failed: ${failure}`);
        }
        if (!claimed) continue;
        if (failure === null) {
          for (const e of audits) tx.audit(e);
          for (const e of events) tx.emit(e);
          continue;
        }
        if (await this.recordFailure(tx, rollout, t, failure)) return 'stopped';
      }
      return 'ok';
    });
  }

  /** Marks the target failed (its effect was rolled back with its savepoint); true when the CR is now halted. */
  private async recordFailure(
    tx: Tx,
    rollout: RolloutEntity,
    t: RolloutTargetEntity,
    failure: string,
  ): Promise<boolean> {
    const crId = rollout.changeRequestId;
    const phase = rollout.phase;
    const moved = await rolloutStore.moveTarget(
      tx.manager,
      t.id,
      ['pending', 'running'],
      { status: 'failed', error: failure.slice(0, 4000), finishedAt: tx.now, startedAt: tx.now },
      true,
    );
    if (!moved) return false;
    const type = phase === 'apply' ? 'change_request.target_failed' : 'change_request.target_rollback_failed';
    const data = {
      target: targetRef(t.planned),
      wave: t.waveIndex,
      idempotencyKey: t.idempotencyKey,
      error: failure,
    };
    tx.audit({ actor: 'system', action: type, entityType: 'change_request', entityId: crId, data });
    tx.emit({ type, entityType: 'change_request', entityId: crId, actor: 'system', data });
    // Executor failures are signals too (source `executor`); the halt policy judges them as failures.
    await tx.manager.insert(SignalEntity, {
      id: randomUUID(),
      source: 'executor',
      severity: 'error',
      state: 'firing',
      tenantId: t.tenantId,
      changeRequestId: crId,
      flagKey: null,
      environment: null,
      message: `${targetRef(t.planned)}: ${failure}`.slice(0, 2000),
      count: 1,
      at: tx.now,
      recordedBy: 'system',
    });
    return phase === 'apply' && (await this.haltIfNeeded(tx, crId));
  }
}

/** The index of the latest wave that has started (1 before any has). */
function currentWave(waves: readonly RolloutWaveEntity[]): number {
  const started = waves.filter((w) => w.status !== 'pending');
  return started.length > 0 ? started[started.length - 1].waveIndex : 1;
}
