import { DataSource } from 'typeorm';
import { TransactionRunner } from '../src/common/transaction';
import { UserEntity } from '../src/users/user.entity';
import { bearer, startTestApp, TestApp } from './support/test-app';

describe('audit chain and outbox', () => {
  let t: TestApp;
  let ds: DataSource;
  beforeAll(async () => {
    t = await startTestApp();
    ds = t.app.get(DataSource);
  });
  afterAll(async () => {
    await t.close();
  });

  const verify = async () =>
    (await t.http().get('/api/audit/verify').set(bearer(t.adminToken)).expect(200)).body;

  it('keeps one unbroken chain under 1,000 concurrent appends', async () => {
    const before = (await verify()).entries as number;
    const N = 1000;
    const CONCURRENCY = 50;
    let next = 0;
    const statuses: number[] = [];
    // Verifications while appends commit (as with several replicas at work) must find the chain intact.
    const during: Array<{ ok: boolean; reason?: string }> = [];
    let appending = true;
    const verifying = (async () => {
      while (appending) {
        during.push(await verify());
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N) {
          const i = next++;
          const res = await t
            .http()
            .post('/api/tokens')
            .set(bearer(t.adminToken))
            .send({ name: `t${i}`, kind: 'automation' });
          statuses.push(res.status);
        }
      }),
    );
    appending = false;
    await verifying;
    expect(statuses.filter((s) => s !== 201)).toEqual([]);
    expect(during.length).toBeGreaterThan(0);
    expect(during.filter((r) => !r.ok)).toEqual([]);
    const result = await verify();
    expect(result).toMatchObject({ ok: true, entries: before + N });
    expect(result.firstBrokenSeq).toBeUndefined();
    const seqs = (await ds.query('SELECT seq FROM audit_entries ORDER BY seq')) as Array<{ seq: number }>;
    expect(seqs.map((r) => Number(r.seq))).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
  });

  it('lists entries newest first with cursor pagination and filters', async () => {
    const page1 = await t
      .http()
      .get('/api/audit?limit=5&action=token.created')
      .set(bearer(t.adminToken))
      .expect(200);
    expect(page1.body.items).toHaveLength(5);
    expect(page1.body.items.every((i: { action: string }) => i.action === 'token.created')).toBe(true);
    const page2 = await t
      .http()
      .get(`/api/audit?limit=5&action=token.created&cursor=${page1.body.nextCursor}`)
      .set(bearer(t.adminToken))
      .expect(200);
    expect(page2.body.items[0].seq).toBeLessThan(page1.body.items[4].seq);
  });

  it('names exactly the seq whose data changed by one byte', async () => {
    const [row] = (await ds.query(`SELECT seq, data FROM audit_entries WHERE seq = 500`)) as Array<{
      seq: number;
      data: string;
    }>;
    const tampered = row.data.replace('automation', 'autom4tion');
    expect(tampered).not.toBe(row.data);
    await ds.query(
      `UPDATE audit_entries SET data = ${t.app.get(TransactionRunner).isPostgres ? '$1' : '?'} WHERE seq = 500`,
      [tampered],
    );
    expect(await verify()).toMatchObject({ ok: false, firstBrokenSeq: 500 });
    await ds.query(
      `UPDATE audit_entries SET data = ${t.app.get(TransactionRunner).isPostgres ? '$1' : '?'} WHERE seq = 500`,
      [row.data],
    );
    expect((await verify()).ok).toBe(true);
  });

  it('detects a deleted row, and deleted newest rows', async () => {
    const rows = (await ds.query(
      `SELECT * FROM audit_entries WHERE seq IN (300, 301) ORDER BY seq`,
    )) as Array<Record<string, unknown>>;
    await ds.query(`DELETE FROM audit_entries WHERE seq = 300`);
    expect(await verify()).toMatchObject({ ok: false, firstBrokenSeq: 300 });
    const head = (await verify()).entries;
    expect(head).toBeGreaterThan(0);
    // put it back, then remove the newest entry: the head record still names it
    await ds.getRepository('AuditEntryEntity').insert(
      ((r) => ({
        seq: Number(r.seq),
        // pg returns a Date; SQLite returns TypeORM's UTC text form
        at: r.at instanceof Date ? r.at : new Date(String(r.at).replace(' ', 'T') + 'Z'),
        actor: r.actor,
        action: r.action,
        entityType: r.entity_type,
        entityId: r.entity_id,
        data: r.data,
        prevHash: r.prev_hash,
        hash: r.hash,
      }))(rows[0]),
    );
    expect((await verify()).ok).toBe(true);
    const [{ max }] = (await ds.query('SELECT MAX(seq) AS max FROM audit_entries')) as Array<{ max: number }>;
    await ds.query(`DELETE FROM audit_entries WHERE seq = ${Number(max)}`);
    expect(await verify()).toMatchObject({ ok: false, firstBrokenSeq: Number(max) });
  });

  it('shows an event in the change feed if and only if its transaction committed', async () => {
    const runner = t.app.get(TransactionRunner);
    const feedTypes = async () => {
      const items: Array<{ type: string; entityId: string }> = [];
      let cursor = '';
      for (;;) {
        const res = await t
          .http()
          .get(`/api/events?limit=1000${cursor ? `&after=${cursor}` : ''}`)
          .set(bearer(t.adminToken))
          .expect(200);
        items.push(...res.body.items);
        if (res.body.items.length < 1000) return items;
        cursor = res.body.nextCursor;
      }
    };
    await expect(
      runner.run(async (tx) => {
        await tx.manager.insert(UserEntity, {
          id: '00000000-0000-4000-8000-000000000001',
          email: 'ghost@test.local',
          name: 'ghost',
          passwordHash: 'x',
          roles: ['viewer'],
          disabled: false,
          createdAt: tx.now,
          updatedAt: tx.now,
        });
        tx.audit({ actor: 'test', action: 'user.created', entityType: 'user', entityId: 'ghost' });
        tx.emit({ type: 'user.created', entityType: 'user', entityId: 'ghost', actor: 'test' });
        throw new Error('use case failed after writing');
      }),
    ).rejects.toThrow('use case failed after writing');
    expect(await ds.getRepository(UserEntity).findOne({ where: { email: 'ghost@test.local' } })).toBeNull();
    expect((await feedTypes()).filter((e) => e.entityId === 'ghost')).toEqual([]);

    await runner.run(async (tx) => {
      tx.emit({ type: 'test.committed', entityType: 'test', entityId: 'real', actor: 'test' });
    });
    const committed = (await feedTypes()).filter((e) => e.entityId === 'real');
    expect(committed.map((e) => e.type)).toEqual(['test.committed']);
  });

  it('feeds events in order and resumes from a cursor', async () => {
    const first = await t.http().get('/api/events?limit=3').set(bearer(t.adminToken)).expect(200);
    const second = await t
      .http()
      .get(`/api/events?limit=3&after=${first.body.nextCursor}`)
      .set(bearer(t.adminToken))
      .expect(200);
    const seqs = [...first.body.items, ...second.body.items].map((e: { seq: number }) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(6);
  });
});
