import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { compile, type ClientFeaturesResponse, type Evaluator } from '@wavegate/evaluation';
import { TransactionRunner } from '../common/transaction';
import { EnvironmentEntity } from '../environments/environment.entity';
import { EventsDispatcher } from '../events/events.dispatcher';
import { FeedEvent } from '../events/events.service';
import { ClientFeaturesBody, buildClientFeatures, strongEtag, SnapshotFlag } from './domain/snapshot.builder';
import { FlagEntity, FlagEnvironmentEntity, SegmentEntity } from './flag.entity';

export interface Snapshot {
  environment: string;
  /** The exact bytes of GET /api/client/features. */
  body: Buffer;
  etag: string;
  json: ClientFeaturesBody;
  builtAt: number;
  /** Wavegate's own engine over the same JSON (for OFREP); compiled on first use. */
  evaluator(): Evaluator;
}

export type SnapshotListener = (snapshot: Snapshot) => void;

// Events after which a snapshot is rebuilt. `environment` in the event data narrows the rebuild to one environment.
const REBUILD_ON = new Set([
  'flag.created',
  'flag.updated',
  'flag.archived',
  'flag.unarchived',
  'segment.created',
  'segment.updated',
  'segment.deleted',
  'environment.created',
  'environment.updated',
]);

/**
 * The per-environment client features snapshot: built once, served many times with a strong ETag, never a
 * database query per request. Rebuilt when the outbox shows a flag, segment or environment change, so replicas
 * that did not make the change rebuild too (the dispatcher tails the outbox).
 */
@Injectable()
export class SnapshotService implements OnApplicationBootstrap {
  private readonly logger = new Logger(SnapshotService.name);
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly listeners = new Map<string, Set<SnapshotListener>>();
  // Per environment: the chain of builds, and a build that is queued but not started (joined by later requests).
  private readonly chain = new Map<string, Promise<void>>();
  private readonly queued = new Map<string, Promise<void>>();

  constructor(
    private readonly tx: TransactionRunner,
    private readonly dispatcher: EventsDispatcher,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.dispatcher.listen((e) => this.onEvent(e));
    await this.refreshAll();
  }

  get(environment: string): Snapshot | undefined {
    return this.snapshots.get(environment);
  }

  /** Called with each new snapshot of the environment (a changed ETag). Returns an unsubscribe function. */
  subscribe(environment: string, listener: SnapshotListener): () => void {
    let set = this.listeners.get(environment);
    if (!set) this.listeners.set(environment, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  async refreshAll(): Promise<void> {
    const envs = await this.tx.run((tx) => tx.manager.find(EnvironmentEntity));
    await Promise.all(envs.map((e) => this.refresh(e.name)));
  }

  /** Rebuilds the environment's snapshot from committed data; resolves once a build that started after the call is done. */
  refresh(environment: string): Promise<void> {
    const waiting = this.queued.get(environment);
    if (waiting) return waiting;
    const prev = this.chain.get(environment) ?? Promise.resolve();
    const next = prev.then(async () => {
      this.queued.delete(environment);
      try {
        await this.build(environment);
      } catch (e) {
        this.logger.error(`snapshot of ${environment} not rebuilt: ${String(e)}`);
      }
    });
    this.queued.set(environment, next);
    this.chain.set(environment, next);
    return next;
  }

  private onEvent(e: FeedEvent): void {
    if (!REBUILD_ON.has(e.type)) return;
    const env = typeof e.data.environment === 'string' ? e.data.environment : undefined;
    if (env) void this.refresh(env);
    else
      void this.refreshAll().catch((err: unknown) =>
        this.logger.error(`snapshot rebuild failed: ${String(err)}`),
      );
  }

  private async build(environment: string): Promise<void> {
    // Read in a transaction: on SQLite this keeps the read out of another use case's uncommitted writes.
    const data = await this.tx.run(async (tx) => {
      const env = await tx.manager.findOne(EnvironmentEntity, { where: { name: environment } });
      if (!env) return null;
      const flags = await tx.manager.find(FlagEntity, { where: { archived: false } });
      const configs = await tx.manager.find(FlagEnvironmentEntity, { where: { environment } });
      const segments = await tx.manager.find(SegmentEntity);
      return { flags, configs, segments };
    });
    if (!data) {
      this.snapshots.delete(environment);
      return;
    }
    const byKey = new Map(data.configs.map((c) => [c.flagKey, c]));
    const flags: SnapshotFlag[] = data.flags.map((f) => {
      const c = byKey.get(f.key);
      return {
        key: f.key,
        type: f.type,
        description: f.description,
        impressionData: f.impressionData,
        dependencies: f.dependencies,
        config: c ? { enabled: c.enabled, strategies: c.strategies, variants: c.variants } : undefined,
      };
    });
    const json = buildClientFeatures(environment, flags, data.segments);
    const body = Buffer.from(JSON.stringify(json));
    const etag = strongEtag(body);
    const previous = this.snapshots.get(environment);
    if (previous && previous.etag === etag) return;
    let evaluator: Evaluator | undefined;
    const snapshot: Snapshot = {
      environment,
      body,
      etag,
      json,
      builtAt: Date.now(),
      evaluator: () => (evaluator ??= compile(json as unknown as ClientFeaturesResponse)),
    };
    this.snapshots.set(environment, snapshot);
    for (const l of this.listeners.get(environment) ?? []) {
      try {
        l(snapshot);
      } catch (e) {
        this.logger.warn(`snapshot listener failed: ${String(e)}`);
      }
    }
  }
}
