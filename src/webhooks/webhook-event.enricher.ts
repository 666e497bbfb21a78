import { Injectable, Optional } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import { OperationRegistry } from '../operations/operation.registry';
import { UserEntity } from '../users/user.entity';
import { WebhookEvent } from './domain/payload.formatter';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Fills in what a chat message needs and the outbox event does not carry: the author's name instead of a user id,
 * and whether the operation is irreversible (from the operation registry). Used for the Slack format only; `json`
 * receivers get the event exactly as it was committed. A missing user or operation leaves the field as it was.
 */
@Injectable()
export class WebhookEventEnricher {
  constructor(@Optional() private readonly operations?: OperationRegistry) {}

  async enrich(manager: EntityManager, events: WebhookEvent[]): Promise<Map<string, WebhookEvent>> {
    const out = new Map<string, WebhookEvent>();
    const crEvents = events.filter((e) => e.type.startsWith('change_request.'));
    const userIds = new Set<string>();
    for (const e of crEvents) {
      const id = userIdOf(e.data.author);
      if (id) userIds.add(id);
    }
    const users =
      userIds.size === 0
        ? []
        : await manager.find(UserEntity, {
            where: { id: In([...userIds]) },
            select: { id: true, name: true, email: true },
          });
    const byId = new Map(users.map((u) => [u.id, u]));
    for (const e of crEvents) {
      const data = { ...e.data };
      const user = byId.get(userIdOf(data.author) ?? '');
      if (user) data.author = { id: user.id, name: user.name, email: user.email };
      if (typeof data.irreversible !== 'boolean' && typeof data.operation === 'string') {
        const op = this.operations?.find(data.operation);
        if (op) data.irreversible = op.risk === 'irreversible';
      }
      out.set(e.id, { ...e, data });
    }
    return out;
  }
}

function userIdOf(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const id = v.startsWith('user:') ? v.slice('user:'.length) : v;
  return UUID_RE.test(id) ? id : undefined;
}
