// Running a wave's targets whose operation calls another system (`Operation.external`: the `http` operation, a
// provider's platform). A network call must not hold the SQLite writer or a PostgreSQL transaction open, so each
// target is claimed (marked `running`, committed), called outside any transaction, and its outcome recorded in a
// second transaction. A crash in between leaves it `running`; it is called again with the same idempotency key,
// which the other side uses to apply it once (docs/decisions/0005-wave-engine.md).
import { deriveKey } from '../auth/token.codec';
import { Clock } from '../common/clock';
import { TransactionRunner } from '../common/transaction';
import {
  BeforeDestructiveHook,
  CaptureRef,
  ExternalCallContext,
  ExternalExecutor,
  isDestructive,
  Operation,
} from '../operations/operation.types';
import { EngineLease } from './engine.lease';
import { EngineSettings } from './engine.settings';
import { RolloutEntity, RolloutTargetEntity } from './rollout.entity';
import { RolloutHalts } from './rollout.halts';
import { rolloutStore } from './rollout.store';
import { recordCalled, recordFailure, recordProbeFailure } from './target.outcomes';

export class ExternalRunner {
  private readonly keys = new Map<string, Buffer>();

  constructor(
    private readonly tx: TransactionRunner,
    private readonly lease: EngineLease,
    private readonly halts: RolloutHalts,
    private readonly clock: Clock,
    private readonly settings: EngineSettings,
    /** WAVEGATE_SECRET: signing keys are derived from it, one per purpose. */
    private readonly secret: string,
    /** True once the process is shutting down: no new call starts. */
    private readonly stopped: () => boolean,
    /** Run before a destructive operation's call (data connectors' captures, ADR 0012). */
    private readonly beforeDestructive: () => readonly BeforeDestructiveHook[] = () => [],
  ) {}

  /** Calls the fetched targets of the current wave; 'wait' when the CR stopped (halt, pause, lost lease). */
  async run(
    op: Operation<unknown>,
    external: ExternalExecutor<unknown>,
    rollout: RolloutEntity,
    batch: RolloutTargetEntity[],
  ): Promise<'again' | 'wait'> {
    const call = rollout.phase === 'apply' ? external.apply : external.undo;
    let stop = false;
    let next = 0;
    const worker = async () => {
      while (!stop && !this.stopped() && next < batch.length) {
        const t = batch[next++];
        const claimed = await this.claimTarget(rollout, t);
        if (claimed === 'stopped') {
          stop = true;
          return;
        }
        if (claimed === 'gone') continue;
        let failure: string | null = null;
        let captures: CaptureRef[] = [];
        const ctx = this.context(rollout, t);
        try {
          if (!call) throw new Error(`operation ${op.name} has no external ${rollout.phase}`);
          // Before a destructive call touches the tenant, its rows are captured; no capture, no call.
          if (rollout.phase === 'apply' && isDestructive(op)) {
            for (const hook of this.beforeDestructive()) captures.push(...(await hook(op, t.planned, ctx)));
          }
          const result = await call.call(external, t.planned, ctx);
          if (result?.captures) captures = [...captures, ...result.captures];
        } catch (e) {
          failure = e instanceof Error ? e.message : String(e);
        }
        // The tenant health probe after each applied target (not after an undo: a rollback is not halted).
        const probe =
          failure === null && rollout.phase === 'apply' && external.verify && t.tenantId
            ? await external.verify(t.tenantId, ctx)
            : null;
        // The call happened: its outcome is recorded even if the CR was halted meanwhile.
        const halted = await this.tx.run(async (tx) => {
          if (failure !== null) return recordFailure(tx, rollout, t, failure, this.halts);
          await recordCalled(tx, rollout, t, captures);
          if (probe !== null)
            return recordProbeFailure(tx, rollout, t.tenantId, 'after_target', probe, this.halts);
          return false;
        });
        if (halted) stop = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.concurrency, batch.length) }, worker));
    return stop ? 'wait' : 'again';
  }

  /**
   * The end of a wave's bake: the probe (`verify`) for every tenant the wave touched; each failure is a `probe`
   * signal. Returns whether the CR is now halted. Verify is read-only: probing again after a crash is harmless.
   */
  async probeWave(
    external: ExternalExecutor<unknown>,
    rollout: RolloutEntity,
    waveIndex: number,
  ): Promise<boolean> {
    const verify = external.verify;
    if (!verify || rollout.phase !== 'apply') return false;
    const rows = await this.tx.read((m) =>
      m.find(RolloutTargetEntity, {
        select: { tenantId: true, idempotencyKey: true },
        where: { changeRequestId: rollout.changeRequestId, phase: 'apply', waveIndex, status: 'succeeded' },
      }),
    );
    const tenants = [...new Set(rows.map((r) => r.tenantId).filter((x) => x))];
    const ctx = this.context(rollout, rows[0] ?? ({ idempotencyKey: '' } as RolloutTargetEntity));
    let halted = false;
    let next = 0;
    const worker = async () => {
      while (!halted && !this.stopped() && next < tenants.length) {
        const tenantId = tenants[next++];
        const reason = await verify.call(external, tenantId, ctx);
        if (reason === null) continue;
        if (
          await this.tx.run((tx) =>
            recordProbeFailure(tx, rollout, tenantId, 'after_bake', reason, this.halts),
          )
        )
          halted = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.concurrency, tenants.length) }, worker));
    return halted;
  }

  /** Marks the target running (counting the attempt) after the guard, and commits, before the call. */
  private claimTarget(
    rollout: RolloutEntity,
    t: RolloutTargetEntity,
  ): Promise<'stopped' | 'claimed' | 'gone'> {
    return this.tx.run(async (tx) => {
      if (!(await this.lease.guard(tx, rollout.changeRequestId, rollout.phase))) return 'stopped' as const;
      const ok = await rolloutStore.moveTarget(
        tx.manager,
        t.id,
        ['pending', 'running'],
        { status: 'running', startedAt: tx.now },
        true,
      );
      return ok ? ('claimed' as const) : ('gone' as const);
    });
  }

  private context(rollout: RolloutEntity, t: RolloutTargetEntity): ExternalCallContext<unknown> {
    return {
      changeRequestId: rollout.changeRequestId,
      revision: rollout.revision,
      params: rollout.params,
      idempotencyKey: t.idempotencyKey,
      now: () => this.clock.now(),
      signingKey: (purpose) => this.signingKey(purpose),
      timeoutMs: this.settings.httpTimeoutMs,
      backoffMs: [this.settings.httpBackoffMs, this.settings.httpBackoffMs * 4],
      read: (fn) => this.tx.run((tx) => fn(tx.manager)),
    };
  }

  private signingKey(purpose: string): Buffer {
    let key = this.keys.get(purpose);
    if (!key) {
      key = deriveKey(this.secret, purpose);
      this.keys.set(purpose, key);
    }
    return key;
  }
}
