import { Injectable } from '@nestjs/common';
import { unprocessable } from '../common/errors';
import { BUILTIN_OPERATIONS } from './builtin.operations';
import { BeforeDestructiveHook, Operation, TargetResolver, TargetType } from './operation.types';

/**
 * Every operation Wavegate can plan (and, with the engine, run), and the resolvers that look targets up.
 * The built-in operations are there from construction; modules register theirs at init (`onModuleInit`).
 * A name is registered once; only a `provisional` stand-in (e.g. `flag.update` before the flags module) can be
 * replaced.
 */
@Injectable()
export class OperationRegistry {
  private readonly operations = new Map<string, Operation<unknown>>();
  private readonly resolvers = new Map<TargetType, TargetResolver>();
  private readonly destructiveHooks: BeforeDestructiveHook[] = [];

  constructor() {
    for (const op of BUILTIN_OPERATIONS) this.register(op);
  }

  register<P>(op: Operation<P>): void {
    const existing = this.operations.get(op.name);
    if (existing && !existing.provisional) throw new Error(`operation ${op.name} is already registered`);
    if (!/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/.test(op.name))
      throw new Error(`bad operation name ${op.name}`);
    this.operations.set(op.name, op as Operation<unknown>);
  }

  /**
   * Adds or replaces an operation a provider brings (`op.provider` set): a provider's edit replaces its operations
   * with the new version. It never replaces a built-in operation or another provider's.
   */
  registerProvided<P>(op: Operation<P>): void {
    const existing = this.operations.get(op.name);
    if (!op.provider || (existing && existing.provider !== op.provider))
      throw new Error(`operation ${op.name} is already registered`);
    if (!/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/.test(op.name))
      throw new Error(`bad operation name ${op.name}`);
    this.operations.set(op.name, op as Operation<unknown>);
  }

  /** Removes a provider's operations that are not in `keep` (an edit dropped them). */
  removeProvided(provider: string, keep: ReadonlySet<string>): void {
    for (const [name, op] of this.operations)
      if (op.provider === provider && !keep.has(name)) this.operations.delete(name);
  }

  registerResolver(resolver: TargetResolver): void {
    if (this.resolvers.has(resolver.type))
      throw new Error(`a ${resolver.type} resolver is already registered`);
    this.resolvers.set(resolver.type, resolver);
  }

  find(name: string): Operation<unknown> | undefined {
    return this.operations.get(name);
  }

  /** The operation, or 422 CHANGE_REQUEST.UNKNOWN_OPERATION naming the field. */
  get(name: string): Operation<unknown> {
    const op = this.operations.get(name);
    if (!op) {
      throw unprocessable('CHANGE_REQUEST.UNKNOWN_OPERATION', `operation: no operation named "${name}"`, [
        { field: 'operation', reason: `unknown; expected one of ${this.names().join(', ')}` },
      ]);
    }
    return op;
  }

  names(): string[] {
    return [...this.operations.keys()].sort();
  }

  list(): Operation<unknown>[] {
    return this.names().map((n) => this.operations.get(n) as Operation<unknown>);
  }

  /** Runs before every external call of a destructive operation (data connectors capture the tenant's rows). */
  addBeforeDestructive(hook: BeforeDestructiveHook): void {
    this.destructiveHooks.push(hook);
  }

  beforeDestructiveHooks(): readonly BeforeDestructiveHook[] {
    return this.destructiveHooks;
  }

  resolver(type: TargetType): TargetResolver | undefined {
    return this.resolvers.get(type);
  }
}
