// The wave engine's runner loop (poke, tick, drive, step) and its public face; see the class comment for its parts.
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { Brackets, EntityManager, In } from 'typeorm';
import { Clock } from '../common/clock';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { ReplicaLifecycle } from '../common/replica-lifecycle';
import { TransactionRunner, Tx } from '../common/transaction';
import { ChangeRequestEntity } from '../change-requests/change-request.entity';
import { OperationRegistry } from '../operations/operation.registry';
import { SignalEntity } from '../signals/signal.entity';
import { HaltDecision } from '../change-requests/domain/halt-policy';
import { ACTIVE_STATUS, EngineLease } from './engine.lease';
import { ENGINE_SETTINGS, EngineSettings } from './engine.settings';
import { ExternalRunner } from './external.runner';
import { InDatabaseRunner } from './rollout.batches';
import { RolloutEntity, RolloutTargetEntity } from './rollout.entity';
import { RolloutHalts } from './rollout.halts';
import { RolloutPlans } from './rollout.plans';
import { rolloutStore } from './rollout.store';
import { WaveTransitions } from './wave.transitions';

export { applyKey, undoKey } from './rollout.plans';

const FETCH = 256;
const WAKE_EVENTS = new Set([
  'change_request.started',
  'change_request.resumed',
  'change_request.rollback_started',
]);

/**
 * The wave engine (docs/decisions/0005-wave-engine.md). A runner loop per process claims a CR with a lease (a
 * conditional UPDATE, the same on SQLite and PostgreSQL), runs the current wave's targets with bounded concurrency,
 * each in ONE transaction (guard: CR status and lease -> claim the target -> drift check, snapshot and effect in the
 * operation -> mark succeeded -> audit entry + outbox event), waits out the bake on the injected clock, and
 * completes the CR. Halts are recorded by whoever sees the deciding fact (a failure here, a signal in
 * SignalsService) in that fact's transaction; every target transaction re-reads the CR status first, so no target
 * starts after a halt is recorded.
 *
 * This file is the runner loop (poke, tick, drive, step) and the engine's public face; the parts live beside it:
 *   engine.lease.ts        claiming a CR (the lease) and the guard every target transaction runs first
 *   rollout.plans.ts       materialising the stored plan into waves and targets; planning a rollback
 *   rollout.halts.ts       the halt policy's verdict from results and signals; recording a halt
 *   wave.transitions.ts    scheduled starts, starting and finishing waves, completing the CR
 *   rollout.batches.ts     running targets of an in-database operation in batches, one transaction each
 *   external.runner.ts     running targets of an operation that calls another system (`Operation.external`)
 *   target.outcomes.ts     recording one target's success or failure
 */
@Injectable()
export class RolloutEngine
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger(RolloutEngine.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private readonly lease: EngineLease;
  private readonly plans: RolloutPlans;
  private readonly halts: RolloutHalts;
  private readonly waves: WaveTransitions;
  private readonly inDatabase: InDatabaseRunner;
  private readonly external: ExternalRunner;

  constructor(
    private readonly tx: TransactionRunner,
    private readonly registry: OperationRegistry,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(ENGINE_SETTINGS) readonly settings: EngineSettings,
    @Inject(APP_CONFIG) config: AppConfig,
    lifecycle: ReplicaLifecycle,
  ) {
    const stopped = () => this.stopped;
    this.lease = new EngineLease(tx, settings);
    this.plans = new RolloutPlans(registry);
    this.halts = new RolloutHalts(registry);
    this.waves = new WaveTransitions(tx, this.lease, this.plans, clock);
    this.inDatabase = new InDatabaseRunner(tx, this.lease, this.halts, settings, stopped);
    this.external = new ExternalRunner(
      tx,
      this.lease,
      this.halts,
      clock,
      settings,
      config.secret,
      stopped,
      () => registry.beforeDestructiveHooks(),
    );
    // Start promptly when a CR is started or resumed through the API (the poll interval is the fallback).
    tx.onCommit((events) => {
      if (events.some((e) => WAKE_EVENTS.has(e.type))) this.poke();
    });
    // SIGTERM: take no new step from now on (the step in progress finishes; leases are released at shutdown).
    lifecycle.onDrain(() => this.halt());
  }

  onApplicationBootstrap(): void {
    if (!this.settings.enabled) return;
    this.timer = setInterval(() => this.poke(), this.settings.pollMs);
    this.timer.unref();
    this.poke();
  }

  /** Takes no new step; the one in progress finishes. */
  private halt(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  // Before the database closes: wait for the step in progress, then hand our CRs back so that another replica
  // resumes them at once instead of after the lease expires.
  async beforeApplicationShutdown(): Promise<void> {
    this.halt();
    await this.running;
    const released = await this.lease.releaseAll().catch((e: unknown) => {
      this.logger.warn(`leases not released (they expire by themselves): ${String(e)}`);
      return 0;
    });
    if (released > 0) this.logger.log(`released the lease of ${released} rollout(s)`);
  }

  async onApplicationShutdown(): Promise<void> {
    this.halt();
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

  // --- used by the change-request, rollout and signal services ------------------------------------------------------

  /** Materialises the stored plan into waves and targets (called in the execute transaction). */
  materialise(tx: Tx, cr: ChangeRequestEntity): Promise<{ waves: number; targets: number }> {
    return this.plans.materialise(tx, cr);
  }

  /** Rollback: skips what never ran and plans the undo of what succeeded, newest wave first, as waves of its own. */
  planRollback(tx: Tx, cr: ChangeRequestEntity): Promise<{ waves: number; targets: number }> {
    return this.plans.planRollback(tx, cr);
  }

  /** The halt policy's verdict on the CR now, from the stored results and the signals that concern it. */
  evaluateHalt(m: EntityManager, crId: string, now: Date): Promise<HaltDecision> {
    return this.halts.evaluateHalt(m, crId, now);
  }

  /** Every signal that concerns the CR's rollout since it started, newest first (see RolloutHalts.signalsOf). */
  signalsOf(m: EntityManager, crId: string, limit: number): Promise<SignalEntity[]> {
    return this.halts.signalsOf(m, crId, limit);
  }

  /** Evaluates and, when the policy says so, records the halt in `tx`. Returns whether the CR is now halted. */
  haltIfNeeded(tx: Tx, crId: string): Promise<boolean> {
    return this.halts.haltIfNeeded(tx, crId);
  }

  // --- the runner -------------------------------------------------------------------------------------------------

  private async tick(): Promise<void> {
    await this.waves.startScheduled();
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

  private async drive(crId: string): Promise<void> {
    for (;;) {
      if (this.stopped || !(await this.lease.claim(crId))) return;
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
      const last = waves.length > 0 ? waves[waves.length - 1].waveIndex : 0;
      return { cr, rollout, wave: waves.find((w) => w.status !== 'completed') ?? null, last };
    });
    if (!state || state.cr.status !== ACTIVE_STATUS[state.rollout.phase]) return 'wait';
    const { rollout, wave } = state;
    if (!wave) {
      // The last wave bakes too when its operation probes tenants: their health is checked before the CR completes.
      const op = this.registry.find(rollout.operation);
      if (
        op?.external?.verify &&
        rollout.phase === 'apply' &&
        rollout.nextWaveAt &&
        rollout.bakeSeconds > 0
      ) {
        if (this.clock.now().getTime() < rollout.nextWaveAt.getTime()) return 'wait';
        if (await this.external.probeWave(op.external, rollout, state.last)) return 'wait';
      }
      await this.waves.complete(crId, rollout.phase);
      return 'wait';
    }
    if (wave.status === 'pending') {
      if (rollout.nextWaveAt && this.clock.now().getTime() < rollout.nextWaveAt.getTime()) return 'wait';
      // The bake is over: the tenant health probes of the wave that baked; a failure halts before the next wave.
      const op = this.registry.find(rollout.operation);
      if (op?.external?.verify && rollout.nextWaveAt && rollout.bakeSeconds > 0 && wave.waveIndex > 1) {
        if (await this.external.probeWave(op.external, rollout, wave.waveIndex - 1)) return 'wait';
      }
      return (await this.waves.startWave(crId, rollout.phase, wave)) ? 'again' : 'wait';
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
      await this.waves.finishWave(crId, rollout, wave);
      return 'again';
    }
    const op = this.registry.get(rollout.operation);
    if (op.external) return this.external.run(op, op.external, rollout, batch);
    return this.inDatabase.run(op, rollout, batch);
  }
}
