import { Injectable, Optional } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import { ChangeRequestApprovalEntity } from '../change-requests/change-request.entity';
import { OperationRegistry } from '../operations/operation.registry';
import { PeopleService } from '../people/people.service';
import { Person } from '../people/person';
import { EventPeople, WebhookEvent } from './domain/payload.types';

/**
 * Fills in what a message needs and the outbox event does not carry: the people of a change-request event by name
 * (`data.people`: the actor, the author, the approvers of the event's revision as they were at the time, the
 * commenter and the people mentioned, the break-glass executor and reviewer), and, for Slack, whether the operation
 * is irreversible (from the operation registry). `json` receivers get the committed event plus `data.people` only.
 * A missing user or operation leaves the field out; unknown actors get a readable stand-in from PeopleService.
 */
@Injectable()
export class WebhookEventEnricher {
  constructor(
    private readonly people: PeopleService,
    @Optional() private readonly operations?: OperationRegistry,
  ) {}

  async enrich(manager: EntityManager, events: WebhookEvent[]): Promise<Map<string, WebhookEvent>> {
    const out = new Map<string, WebhookEvent>();
    const crEvents = events.filter((e) => e.type.startsWith('change_request.'));
    if (crEvents.length === 0) return out;
    const crIds = [...new Set(crEvents.map((e) => e.entityId))];
    const approvals = await manager.find(ChangeRequestApprovalEntity, {
      where: { changeRequestId: In(crIds) },
      select: { changeRequestId: true, revision: true, userId: true, at: true },
      order: { at: 'ASC' },
    });
    const approversOf = (e: WebhookEvent): string[] => {
      const revision = e.data.revision;
      if (typeof revision !== 'number') return [];
      return [
        ...new Set(
          approvals
            .filter(
              (a) =>
                a.changeRequestId === e.entityId &&
                a.revision === revision &&
                a.at.getTime() <= e.occurredAt.getTime(),
            )
            .map((a) => a.userId),
        ),
      ];
    };
    const wanted = new Map<string, { refs: PeopleRefs; approvers: string[] }>();
    const all: string[] = [];
    for (const e of crEvents) {
      const refs = refsOf(e);
      const approvers = approversOf(e);
      wanted.set(e.id, { refs, approvers });
      all.push(
        ...approvers,
        ...Object.values(refs)
          .flat()
          .filter((x): x is string => typeof x === 'string'),
      );
    }
    const named = await this.people.resolve(all, manager);
    const one = (id: string | undefined): Person | undefined => (id ? named.get(id) : undefined);
    for (const e of crEvents) {
      const { refs, approvers } = wanted.get(e.id)!;
      const people: EventPeople = {
        actor: one(refs.actor),
        author: one(refs.author),
        approvers: approvers.map((a) => named.get(a)!).filter(Boolean),
        ...(refs.commentBy ? { commentBy: one(refs.commentBy) } : {}),
        ...(refs.mentions.length
          ? { mentions: refs.mentions.map((m) => named.get(m)!).filter(Boolean) }
          : {}),
        ...(refs.breakGlassBy ? { breakGlassBy: one(refs.breakGlassBy) } : {}),
        ...(refs.reviewBy ? { reviewBy: one(refs.reviewBy) } : {}),
      };
      const data: Record<string, unknown> = { ...e.data, people };
      if (typeof data.irreversible !== 'boolean' && typeof data.operation === 'string') {
        const op = this.operations?.find(data.operation);
        if (op) data.irreversible = op.risk === 'irreversible';
      }
      out.set(e.id, { ...e, data });
    }
    return out;
  }
}

interface PeopleRefs {
  actor?: string;
  author?: string;
  commentBy?: string;
  mentions: string[];
  breakGlassBy?: string;
  reviewBy?: string;
}

const s = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const byOf = (v: unknown): string | undefined =>
  v && typeof v === 'object' ? s((v as Record<string, unknown>).by) : undefined;

function refsOf(e: WebhookEvent): PeopleRefs {
  const d = e.data;
  return {
    actor: s(e.actor),
    author: s(d.author),
    commentBy: s(d.commentBy),
    mentions: Array.isArray(d.mentions) ? d.mentions.filter((m): m is string => typeof m === 'string') : [],
    breakGlassBy: byOf(d.breakGlass),
    reviewBy: byOf(d.review),
  };
}
