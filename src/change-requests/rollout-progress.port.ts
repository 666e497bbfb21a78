// A port the rollouts module implements (RolloutsService), so that reading a CR can show its live progress without
// change-requests importing the engine's module, which sits above it (docs/architecture.md, "Layers").

/** Live progress of a CR that has run: per-status counts, per-wave counts, the halt reason, the lease. */
export interface RolloutProgressReader {
  progress(changeRequestId: string): Promise<Record<string, unknown> | null>;
}

export const ROLLOUT_PROGRESS = Symbol('ROLLOUT_PROGRESS');
