import { Injectable } from '@nestjs/common';

/**
 * This replica's place in its life: serving, or draining after SIGTERM. While draining, `/health/ready` answers 503
 * so the load balancer stops sending new requests, and background duties stop taking new work (main.ts).
 */
@Injectable()
export class ReplicaLifecycle {
  private drainingSince?: number;
  private readonly listeners: Array<() => void> = [];

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** Turns readiness false and tells every listener (once). */
  beginDrain(): void {
    if (this.drainingSince !== undefined) return;
    this.drainingSince = Date.now();
    for (const l of this.listeners) l();
  }

  /** Called when draining begins: stop taking new work (finish what is in flight). */
  onDrain(listener: () => void): void {
    this.listeners.push(listener);
  }
}
