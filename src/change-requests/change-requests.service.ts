import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Principal } from '../common/principal';
import { CrCommand } from './domain/lifecycle';
import { BreakGlassReviewInput } from './domain/break-glass-review';
import {
  ChangeRequestAuthoring,
  CreateChangeRequestInput,
  EditChangeRequestInput,
} from './change-request.authoring';
import { ChangeRequestCommands } from './change-request.commands';
import { storedPlan } from './change-request.persistence';
import { ChangeRequestQueries, ListQuery } from './change-request.queries';
import type { Plan } from './plan.builder';

export type { CreateChangeRequestInput, EditChangeRequestInput } from './change-request.authoring';
export type { ListQuery } from './change-request.queries';

/**
 * The change-request use cases, as the controller and other modules call them. Each loads the CR, asks the pure
 * lifecycle (domain/lifecycle.ts) for a decision, and persists it with an optimistic lock, its audit entry and its
 * outbox event in one transaction. A lost race (another writer bumped `version`) re-runs the whole use case on
 * fresh state. The work is done beside this file:
 *   change-request.authoring.ts     create, edit (plan built and stored, approvals voided)
 *   change-request.commands.ts      lifecycle commands, break-glass review, the expiry sweep
 *   change-request.queries.ts       one CR with its plan and progress; the paginated list
 *   change-request.persistence.ts   load, persist a decision with its audit entry and event, retry on a lost race
 * Writes return the CR as the caller now sees it.
 */
@Injectable()
export class ChangeRequestsService {
  constructor(
    private readonly authoring: ChangeRequestAuthoring,
    private readonly commands: ChangeRequestCommands,
    private readonly queries: ChangeRequestQueries,
  ) {}

  async create(p: Principal, input: CreateChangeRequestInput): Promise<Record<string, unknown>> {
    return this.get(p, await this.authoring.create(p, input));
  }

  async edit(p: Principal, id: string, patch: EditChangeRequestInput): Promise<Record<string, unknown>> {
    await this.authoring.edit(p, id, patch);
    return this.get(p, id);
  }

  /** submit, approve, reject, cancel, execute (and, for the sweep and the engine, expire and the rest). */
  async command(
    p: Principal | 'system',
    id: string,
    command: CrCommand,
  ): Promise<Record<string, unknown> | null> {
    await this.commands.command(p, id, command);
    return p === 'system' ? null : this.get(p, id);
  }

  /** The review after the fact of a break-glass execution (design rule 8, ADR 0010); never changes the status. */
  async reviewBreakGlass(
    p: Principal,
    id: string,
    input: BreakGlassReviewInput,
  ): Promise<Record<string, unknown>> {
    await this.commands.reviewBreakGlass(p, id, input);
    return this.get(p, id);
  }

  /** Expires every pending or approved CR past its deadline; returns how many. The sweeper calls it on a timer. */
  sweepExpired(): Promise<number> {
    return this.commands.sweepExpired();
  }

  get(p: Principal, id: string): Promise<Record<string, unknown>> {
    return this.queries.get(p, id);
  }

  list(p: Principal, q: ListQuery): Promise<{ items: Record<string, unknown>[]; nextCursor?: string }> {
    return this.queries.list(p, q);
  }

  /** For the wave engine: the stored plan the approvals were given for, with its revision and hash. */
  storedPlan(m: EntityManager, id: string): Promise<{ revision: number; planHash: string; plan: Plan }> {
    return storedPlan(m, id);
  }
}
