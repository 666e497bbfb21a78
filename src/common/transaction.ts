import { AsyncLocalStorage } from 'node:async_hooks';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Clock } from './clock';
import { Mutex } from './mutex';

export interface AuditInput {
  actor: string;
  action: string;
  entityType: string;
  entityId: string;
  /** Ids and hashes only; no personal data. */
  data?: Record<string, unknown>;
}

export interface EventInput {
  type: string;
  entityType: string;
  entityId: string;
  actor: string;
  data?: Record<string, unknown>;
}

export interface CommittedEvent extends Required<EventInput> {
  seq: number;
  id: string;
  occurredAt: Date;
}

/** The unit of work handed to a use case. Audit entries and events are written at commit, under the ledger lock. */
export interface Tx {
  readonly manager: EntityManager;
  readonly now: Date;
  audit(entry: AuditInput): void;
  emit(event: EventInput): void;
  /** Runs after a successful commit (e.g. waking the outbox dispatcher). Never runs on rollback. */
  afterCommit(fn: () => void): void;
}

export const AFTER_COMMIT_LISTENERS = Symbol('AFTER_COMMIT_LISTENERS');

/**
 * Writes a transaction's audit entries (the hash chain) and outbox events inside it, just before commit, and returns
 * the events as committed. A port: the audit module implements it (audit/ledger.appender.ts), so that this helper,
 * which every module uses, depends on no module above it.
 */
export interface LedgerAppender {
  append(manager: EntityManager, audits: AuditInput[], events: EventInput[]): Promise<CommittedEvent[]>;
}

export const LEDGER_APPENDER = Symbol('LEDGER_APPENDER');

/**
 * One transaction per use case (STYLE.md habit 2): the domain change, its audit entries and its outbox events
 * commit together or not at all. Stores receive `tx.manager` and never open their own transaction.
 *
 * On SQLite all transactions share the single connection and are serialised by a mutex. On PostgreSQL the
 * ledger append takes a transaction-scoped advisory lock just before commit, so the audit chain never forks and
 * outbox seqs grow in commit order, while the rest of each transaction runs concurrently.
 */
@Injectable()
export class TransactionRunner {
  private readonly sqliteMutex = new Mutex();
  private readonly listeners: Array<(events: CommittedEvent[]) => void> = [];
  /** SQLite: the transaction the current async context runs in, while it is open (see `read`). */
  private readonly openTx = new AsyncLocalStorage<{ manager: EntityManager; open: boolean }>();

  constructor(
    private readonly dataSource: DataSource,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(LEDGER_APPENDER) private readonly ledger: LedgerAppender,
  ) {}

  get isPostgres(): boolean {
    return this.dataSource.options.type === 'postgres';
  }

  /** Called with the events of every committed transaction, in commit order (in this process). */
  onCommit(listener: (events: CommittedEvent[]) => void): void {
    this.listeners.push(listener);
  }

  /**
   * A read that must not observe another use case's uncommitted writes. On SQLite every use case shares the one
   * connection, so a plain read issued while a transaction is open sees its writes; this waits for it instead.
   * On PostgreSQL it is a plain read on a pooled connection.
   */
  async read<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (this.isPostgres) return work(this.dataSource.manager);
    // Called from inside a use case's own transaction (e.g. the archive's reader while a restore is planned): read
    // on that transaction. Waiting for the mutex it holds would wait forever.
    const open = this.openTx.getStore();
    if (open?.open) return work(open.manager);
    return this.sqliteMutex.runExclusive(() => work(this.dataSource.manager));
  }

  async run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.isPostgres) return this.runOnce(work);
    return this.sqliteMutex.runExclusive(() => this.runOnce(work));
  }

  private async runOnce<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const audits: AuditInput[] = [];
    const events: EventInput[] = [];
    const after: Array<() => void> = [];
    let committed: CommittedEvent[] = [];
    const now = this.clock.now();
    const result = await this.dataSource.transaction((manager) => {
      const open = { manager, open: true };
      return this.openTx.run(open, async () => {
        try {
          const tx: Tx = {
            manager,
            now,
            audit: (e) => audits.push(e),
            emit: (e) => events.push(e),
            afterCommit: (fn) => after.push(fn),
          };
          const captureTx = !this.isPostgres && (await this.hasCaptureTx(manager));
          // SQLite has no transaction id: the capture triggers read it from capture_tx while open = 1, and the
          // committed state always has open = 0 (docs/decisions/0011-change-capture-triggers.md).
          if (captureTx) await manager.query('UPDATE capture_tx SET tx = tx + 1, open = 1 WHERE id = 1');
          const value = await work(tx);
          if (audits.length > 0 || events.length > 0)
            committed = await this.ledger.append(manager, audits, events);
          if (captureTx) await manager.query('UPDATE capture_tx SET open = 0 WHERE id = 1');
          return value;
        } finally {
          // Work started inside and still running later (a timer) must not read on a finished transaction.
          open.open = false;
        }
      });
    });
    for (const l of this.listeners) l(committed);
    for (const fn of after) fn();
    return result;
  }

  private captureTxReady = false;

  // True once the change-capture migration has run (a database being migrated has no capture_tx yet).
  private async hasCaptureTx(manager: EntityManager): Promise<boolean> {
    if (this.captureTxReady) return true;
    const rows = (await manager.query(
      "SELECT 1 AS ok FROM sqlite_master WHERE type = 'table' AND name = 'capture_tx'",
    )) as unknown[];
    this.captureTxReady = rows.length > 0;
    return this.captureTxReady;
  }
}
