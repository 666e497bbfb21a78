import { createHash } from 'node:crypto';

/**
 * The PostgreSQL NOTIFY channel on which a committed transaction announces new outbox events (no payload, never data:
 * readers take the events from the outbox after their own position). One channel per schema, so installations (and
 * test runs) sharing a database do not wake each other.
 */
export function outboxChannel(schema: string | undefined): string {
  if (!schema) return 'wavegate_outbox';
  return `wavegate_outbox_${createHash('sha256').update(schema).digest('hex').slice(0, 16)}`;
}
