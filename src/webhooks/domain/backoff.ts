// Retry schedule for webhook deliveries (issue 8): 1 s doubling to 1 h, with jitter, 15 attempts in all.
// Pure, so the schedule is unit-tested without a clock or a network.

export const MAX_ATTEMPTS = 15;
export const FIRST_RETRY_MS = 1_000;
export const MAX_RETRY_MS = 3_600_000;

/**
 * Delay before the next attempt after `failedAttempts` failures (1 = the first attempt failed).
 * ±20 % jitter so that when a receiver comes back, the senders that queued up do not all hit it in the same second;
 * never more than the 1 h cap.
 */
export function retryDelayMs(failedAttempts: number, random: () => number = Math.random): number {
  const n = Math.max(1, failedAttempts);
  const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (n - 1));
  return Math.min(MAX_RETRY_MS, Math.round(base * (0.8 + 0.4 * random())));
}

export type AttemptOutcome =
  | { kind: 'delivered' }
  /** The receiver answered 410 Gone: it asks us to stop; the subscription is disabled. */
  | { kind: 'gone' }
  | { kind: 'failed' };

export type DeliveryStep =
  | { status: 'succeeded' }
  | { status: 'pending'; retryInMs: number }
  /** Given up: the delivery is `failed` and the subscription is marked failing (or disabled, for 410). */
  | { status: 'failed'; disable: boolean };

/** What happens to a delivery after its `attempts`-th attempt had `outcome`. */
export function nextStep(
  attempts: number,
  outcome: AttemptOutcome,
  random: () => number = Math.random,
): DeliveryStep {
  switch (outcome.kind) {
    case 'delivered':
      return { status: 'succeeded' };
    case 'gone':
      return { status: 'failed', disable: true };
    case 'failed':
      if (attempts >= MAX_ATTEMPTS) return { status: 'failed', disable: false };
      return { status: 'pending', retryInMs: retryDelayMs(attempts, random) };
  }
}
