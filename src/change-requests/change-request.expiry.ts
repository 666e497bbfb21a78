import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ChangeRequestsService } from './change-requests.service';

export const EXPIRY_SWEEP_MS = 30_000;

/**
 * Expires pending and approved CRs past their deadline on a timer (unref'd: it never keeps the process alive).
 * Expiry is also enforced at the moment of approve / edit / execute, so the sweep only makes it visible sooner.
 */
@Injectable()
export class ChangeRequestExpirySweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ChangeRequestExpirySweeper.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(private readonly crs: ChangeRequestsService) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(
      () => void this.sweep().catch((e: unknown) => this.logger.error(e)),
      EXPIRY_SWEEP_MS,
    );
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One pass; overlapping calls share the pass in progress. Returns how many CRs it expired. */
  sweep(): Promise<number> {
    this.running ??= this.crs.sweepExpired().finally(() => (this.running = undefined));
    return this.running;
  }
}
