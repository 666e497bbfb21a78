// The audit chain and the outbox, appended at commit (docs/architecture.md, "Audit chain" and "Outbox"): the
// implementation of TransactionRunner's LedgerAppender port. Under one lock (a transaction-scoped advisory lock on
// PostgreSQL; the runner's mutex on SQLite) so that the chain never forks and outbox seqs grow in commit order.
import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { canonicalJson } from '../common/canonical-json';
import { Clock } from '../common/clock';
import { AuditInput, CommittedEvent, EventInput, LedgerAppender } from '../common/transaction';
import { EventEntity } from '../events/event.entity';
import { outboxChannel } from '../events/outbox.channel';
import { AuditEntryEntity, LedgerHeadEntity } from './audit-entry.entity';
import { entryHash, GENESIS_HASH } from './audit.chain';

// First key of the PostgreSQL advisory lock that serialises appends to the audit chain and the outbox (arbitrary
// constant); the second is derived from the schema. One key for the whole database made every installation (and
// test run) sharing it queue behind the others' appends, commit included (docs/decisions/0018-replicas-fan-out.md).
const LEDGER_LOCK_CLASS = 774_300_117;

/** The second key of the ledger lock: one chain per schema, so one lock per schema. */
export function ledgerLockKey(schema: string | undefined): number {
  return createHash('sha256')
    .update(`wavegate-ledger:${schema ?? 'public'}`)
    .digest()
    .readInt32BE(0);
}

@Injectable()
export class AuditLedgerAppender implements LedgerAppender {
  private readonly ledgerKey: number;
  /** NOTIFY channel of this schema's outbox (PostgreSQL): every replica LISTENs on it (OutboxListener). */
  private readonly channel: string;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(Clock) private readonly clock: Clock,
  ) {
    const schema = (dataSource.options as { schema?: string }).schema;
    this.ledgerKey = ledgerLockKey(schema);
    this.channel = outboxChannel(schema);
  }

  private get isPostgres(): boolean {
    return this.dataSource.options.type === 'postgres';
  }

  async append(
    manager: EntityManager,
    audits: AuditInput[],
    events: EventInput[],
  ): Promise<CommittedEvent[]> {
    // Everything from here to the end of the commit runs under the lock, one transaction of the installation at a time:
    // each round trip added here is paid once per audited write, in series. So the NOTIFY that tells every replica
    // about new outbox events rides on the lock's statement; PostgreSQL delivers it at commit, never on rollback. Its
    // payload is empty: listeners read the outbox after their own position. (The chain head must not be read in this
    // statement: its snapshot is taken before the lock is granted.)
    if (this.isPostgres) {
      if (events.length > 0)
        await manager.query('SELECT pg_advisory_xact_lock($1, $2), pg_notify($3, $4)', [
          LEDGER_LOCK_CLASS,
          this.ledgerKey,
          this.channel,
          '',
        ]);
      else await manager.query('SELECT pg_advisory_xact_lock($1, $2)', [LEDGER_LOCK_CLASS, this.ledgerKey]);
    }
    // Time is read under the lock so that `at` never goes backwards along the chain.
    const at = this.clock.now();
    if (audits.length > 0) {
      const head = await manager.findOne(LedgerHeadEntity, { where: { name: 'audit' } });
      let seq = head?.seq ?? 0;
      let prevHash = head?.hash ?? GENESIS_HASH;
      const rows: AuditEntryEntity[] = [];
      for (const a of audits) {
        seq++;
        const row = Object.assign(new AuditEntryEntity(), {
          seq,
          at,
          actor: a.actor,
          action: a.action,
          entityType: a.entityType,
          entityId: a.entityId,
          data: canonicalJson(a.data ?? {}),
          prevHash,
        });
        row.hash = entryHash(row);
        prevHash = row.hash;
        rows.push(row);
      }
      for (let i = 0; i < rows.length; i += 100)
        await manager.insert(AuditEntryEntity, rows.slice(i, i + 100));
      await manager.upsert(LedgerHeadEntity, { name: 'audit', seq, hash: prevHash }, ['name']);
    }
    const committed: CommittedEvent[] = [];
    if (events.length > 0) {
      const max = await manager
        .createQueryBuilder(EventEntity, 'e')
        .select('MAX(e.seq)', 'max')
        .getRawOne<{ max: number | string | null }>();
      let seq = Number(max?.max ?? 0);
      const rows: EventEntity[] = [];
      for (const e of events) {
        seq++;
        const row = Object.assign(new EventEntity(), {
          seq,
          id: randomUUID(),
          type: e.type,
          entityType: e.entityType,
          entityId: e.entityId,
          actor: e.actor,
          occurredAt: at,
          data: e.data ?? {},
        });
        rows.push(row);
        committed.push({ ...row });
      }
      // Chunked: SQLite limits the number of bound parameters per statement.
      for (let i = 0; i < rows.length; i += 100)
        await manager.insert(EventEntity, rows.slice(i, i + 100) as never);
    }
    return committed;
  }
}
