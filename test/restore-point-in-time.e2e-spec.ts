import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArchiveService } from '../src/archive/archive.service';
import { Clock } from '../src/common/clock';
import { approveCr, createActors, createApps, crBody, submitCr, Actors, CrBody } from './support/factories';
import { plainClient, PlainClient, tenantCopies } from './support/dr-drill';
import { approvedCr, execute, sleep, waitFor } from './support/rollouts';
import { bearer, startTestApp, TestApp } from './support/test-app';

interface PlanTarget {
  id: string;
  state: string;
  action: string;
  detail: {
    pointInTime: string;
    rows: Record<string, number>;
    tables: Record<string, Record<string, number>>;
  };
}

// tenant.restore with params.source = {pointInTime}: the plan per tenant, the write, its rollback, and every refusal
// (issue 12). Changes are made the way they happen in the outage: through the API and by a plain database client.
describe('tenant.restore to a point in time', () => {
  let t: TestApp;
  let a: Actors;
  let db: PlainClient;
  // Real time (the capture stamps changes with the database's clock), moved ahead by days only for the purge.
  const clock = new (class extends Clock {
    offset = 0;
    now = () => new Date(Date.now() + this.offset);
    advance = (ms: number) => (this.offset += ms);
  })();

  const restoreBody = (ids: string[], at: Date | string, extra: Partial<CrBody> = {}): CrBody => ({
    title: `restore ${ids.join(', ')}`,
    operation: 'tenant.restore',
    params: { source: { pointInTime: typeof at === 'string' ? at : at.toISOString() } },
    targets: ids.map((id) => ({ type: 'tenant', id })),
    waves: { bakeSeconds: 0 },
    ticket: 'INC-1',
    ...extra,
  });
  const create = (body: CrBody) =>
    t.http().post('/api/change-requests').set(bearer(a.maker.token)).send(crBody(body));
  const run = async (body: CrBody) => {
    const cr = await approvedCr(t, a.maker.token, [a.checker1.token, a.checker2.token], body);
    await execute(t, a.checker1.token, cr.id);
    return {
      cr,
      p: await waitFor(t, a.viewer.token, cr.id, (x) => x.status !== 'running' && x.status !== 'approved'),
    };
  };
  const moment = async () => {
    await sleep(30);
    const m = new Date();
    await sleep(30);
    return m;
  };

  beforeAll(async () => {
    process.env.WAVEGATE_ENGINE_POLL_MS = '20';
    t = await startTestApp({ clock, env: { WAVEGATE_SESSION_TTL_SECONDS: String(30 * 24 * 3600) } });
    a = await createActors(t);
    await createApps(t);
    const res = await t
      .http()
      .post('/api/tenants')
      .set(bearer(t.adminToken))
      .send({
        tenants: ['k1', 'k2', 'k5'].map((id, i) => ({
          id,
          name: `Customer ${id}`,
          tier: 'standard',
          ...(i === 1 ? {} : { region: 'eu' }),
          attributes: { plan: 'team', note: null },
          installations: [
            { appKey: 'jira', data: { pages: i, quote: 'a "b" ü' } },
            { appKey: 'insight', data: {} },
          ],
        })),
      });
    expect(res.status).toBe(201);
    db = await plainClient(t.database);
  });
  afterAll(async () => {
    await db.close();
    await t.close();
  });

  it('plans restored, overwritten and removed rows, writes exactly the moment back, and its rollback puts back what it found', async () => {
    const M = await moment();
    const atM = await tenantCopies(db, ['k1', 'k2']);
    // After M: the platform rewrites one installation's data and timestamps (microseconds on PostgreSQL), removes
    // one and adds one; someone renames the tenant through the API.
    const now = t.database.schema ? 'clock_timestamp()' : "strftime('%Y-%m-%d %H:%M:%f', 'now')";
    await db.exec([
      [
        `UPDATE installations SET data = ?, deactivated_at = ${now}, updated_at = ${now} WHERE tenant_id = 'k1' AND app_key = 'jira'`,
        ['{"changed":true}'],
      ],
      [`DELETE FROM installations WHERE tenant_id = 'k1' AND app_key = 'insight'`],
      [
        `INSERT INTO installations (tenant_id, app_key, status, data, deactivated_at, created_at, updated_at) VALUES ('k1', 'confluence', 'active', '{}', NULL, ${now}, ${now})`,
      ],
    ]);
    const patch = await t.http().patch('/api/tenants/k1').set(bearer(t.adminToken)).send({ name: 'Renamed' });
    expect(patch.status).toBe(200);
    const beforeRestore = await tenantCopies(db, ['k1', 'k2']);

    const created = await create(restoreBody(['k1', 'k2'], M));
    expect(created.status).toBe(201);
    const targets = (created.body.plan.waves as { targets: PlanTarget[] }[]).flatMap((w) => w.targets);
    const k1 = targets.find((x) => x.id === 'k1') as PlanTarget;
    expect(k1.state).toBe('active');
    expect(k1.detail.pointInTime).toBe(M.toISOString());
    expect(k1.detail.tables.installations).toEqual({ restored: 1, overwritten: 1, removed: 1, unchanged: 0 });
    expect(k1.detail.tables.tenants).toEqual({ restored: 0, overwritten: 1, removed: 0, unchanged: 0 });
    expect(k1.action).toContain('1 row restored, 2 overwritten, 1 removed');
    const k2 = targets.find((x) => x.id === 'k2') as PlanTarget;
    expect(k2.detail.rows).toEqual({ restored: 0, overwritten: 0, removed: 0, unchanged: 3 });

    await submitCr(t, a.maker.token, created.body.id);
    // Two of the three tenants: over the blast-radius share, so two checkers.
    expect(created.body.requiredApprovals).toBe(2);
    await approveCr(t, a.checker1.token, created.body);
    await approveCr(t, a.checker2.token, created.body);
    await execute(t, a.checker1.token, created.body.id);
    await waitFor(t, a.viewer.token, created.body.id, (x) => x.status === 'completed');
    // Column by column, timestamps and nulls included, k1 is what it was at M; k2 did not change.
    expect(await tenantCopies(db, ['k1', 'k2'])).toEqual(atM);

    const rb = await t
      .http()
      .post(`/api/change-requests/${created.body.id}/rollback`)
      .set(bearer(a.checker2.token))
      .send({});
    expect(rb.status).toBe(202);
    await waitFor(t, a.viewer.token, created.body.id, (x) => x.status === 'rolled_back');
    expect(await tenantCopies(db, ['k1', 'k2'])).toEqual(beforeRestore);
  });

  it('restores a tenant deleted outright; rolling that back removes it again', async () => {
    const M = await moment();
    const atM = await tenantCopies(db, ['k2']);
    await db.exec([
      [`DELETE FROM installations WHERE tenant_id = 'k2'`],
      [`DELETE FROM tenants WHERE id = 'k2'`],
    ]);
    expect((await t.http().get('/api/tenants/k2').set(bearer(a.viewer.token))).status).toBe(404);
    const { cr, p } = await run(restoreBody(['k2'], M));
    expect(p.status).toBe('completed');
    expect(await tenantCopies(db, ['k2'])).toEqual(atM);
    expect((await t.http().get('/api/tenants/k2').set(bearer(a.viewer.token))).body.name).toBe('Customer k2');
    const rb = await t
      .http()
      .post(`/api/change-requests/${cr.id}/rollback`)
      .set(bearer(a.checker2.token))
      .send({});
    expect(rb.status).toBe(202);
    await waitFor(t, a.viewer.token, cr.id, (x) => x.status === 'rolled_back');
    expect((await tenantCopies(db, ['k2'])).get('k2')).toEqual({ tenant: null, installations: [] });
  });

  it('restores to the moment of a whole-database backup (params.source.backupId); an unknown backup is refused naming the field', async () => {
    const backup = await t.http().post('/api/backups').set(bearer(t.adminToken)).send({});
    expect(backup.status).toBe(201);
    const atBackup = await tenantCopies(db, ['k1']);
    await sleep(30);
    // After the backup: a script rewrites k1's installations and removes one.
    await db.exec([
      [
        `UPDATE installations SET data = ? WHERE tenant_id = 'k1' AND app_key = 'jira'`,
        ['{"after":"backup"}'],
      ],
      [`DELETE FROM installations WHERE tenant_id = 'k1' AND app_key = 'confluence'`],
    ]);
    expect(await tenantCopies(db, ['k1'])).not.toEqual(atBackup);

    const fromBackup = (backupId: string): CrBody => ({
      ...restoreBody(['k1'], new Date()),
      params: { source: { backupId } },
    });
    const malformed = await create(fromBackup('no-such-backup'));
    expect(malformed.status).toBe(422);
    expect(malformed.body.details).toEqual([
      { field: 'params.source.backupId', reason: 'must be a backup id (a UUID)' },
    ]);
    const unknown = await create(fromBackup('00000000-0000-4000-8000-000000000000'));
    expect(unknown.status).toBe(422);
    expect(unknown.body.details).toEqual([{ field: 'params.source.backupId', reason: 'no such backup' }]);

    const { p } = await run(fromBackup(backup.body.id as string));
    expect(p.status).toBe('completed');
    expect(await tenantCopies(db, ['k1'])).toEqual(atBackup);
  });

  it('refuses, naming each target: did not exist then, never existed, purged; a moment outside the window; bad params', async () => {
    const beforeLate = await moment();
    const late = await t
      .http()
      .post('/api/tenants')
      .set(bearer(t.adminToken))
      .send({ id: 'late', name: 'Late', tier: 'standard' });
    expect(late.status).toBe(201);
    const r1 = await create(restoreBody(['late', 'ghost'], beforeLate));
    expect(r1.status).toBe(422);
    expect(r1.body.code).toBe('CHANGE_REQUEST.UNKNOWN_TARGET');
    expect(r1.body.details).toEqual(
      expect.arrayContaining([
        { target: 'tenant:ghost', reason: expect.stringContaining('did not exist then either') },
        { target: 'tenant:late', reason: expect.stringContaining('did not exist at') },
      ]),
    );

    const bad = await create({ ...restoreBody(['k1'], 'yesterday') });
    expect(bad.status).toBe(422);
    expect(bad.body.details[0].field).toBe('params.source.pointInTime');
    const bad2 = await create({ ...restoreBody(['k1'], beforeLate), params: { source: { at: 'x' } } });
    expect(bad2.status).toBe(422);
    expect(bad2.body.details[0].field).toBe('params.source');
    const old = await create(restoreBody(['k1'], '2001-01-01T00:00:00Z'));
    expect(old.status).toBe(422);
    expect(old.body.code).toBe('ARCHIVE.NOT_RESTORABLE');
    const future = await create(restoreBody(['k1'], new Date(Date.now() + 3600_000 * 24 * 400)));
    expect(future.status).toBe(422);

    // k5 is soft-deleted, purged after its retention, then its rows are deleted by a script: never resurrected.
    const beforePurge = await moment();
    expect(
      (
        await run({
          title: 'mark k5',
          operation: 'tenant.soft_delete',
          params: { retentionDays: 1 },
          targets: [{ type: 'tenant', id: 'k5' }],
          waves: { bakeSeconds: 0 },
          ticket: 'DEL-5',
        })
      ).p.status,
    ).toBe('completed');
    clock.advance(2 * 86_400_000);
    const purge = await run({
      title: 'purge k5',
      operation: 'tenant.purge',
      targets: [{ type: 'tenant', id: 'k5' }],
      waves: { bakeSeconds: 0 },
      ticket: 'DEL-5',
    });
    expect(purge.p.status).toBe('completed');
    await db.exec([[`DELETE FROM tenants WHERE id = 'k5'`]]);
    const r2 = await create(restoreBody(['k5', 'k1'], beforePurge));
    expect(r2.status).toBe(422);
    expect(r2.body.code).toBe('CHANGE_REQUEST.INELIGIBLE_TARGET');
    expect(r2.body.details).toEqual([{ target: 'tenant:k5', reason: expect.stringContaining('purged') }]);
  });

  it('refuses a tenant whose archived rows do not verify, at plan and at apply, and writes nothing to it', async () => {
    const res = await t
      .http()
      .post('/api/tenants')
      .set(bearer(t.adminToken))
      .send({
        tenants: ['c1', 'c2'].map((id) => ({
          id,
          name: `Customer ${id}`,
          tier: 'standard',
          installations: [{ appKey: 'jira', data: { v: 1 } }],
        })),
      });
    expect(res.status).toBe(201);
    const M = await moment();
    const c1AtM = await tenantCopies(db, ['c1']);
    await db.exec([[`UPDATE installations SET data = '{"v":2}' WHERE tenant_id IN ('c1', 'c2')`]]);
    // Damage c2's captured insert of its tenants row (the bytes the rebuild reads), and undo that damage.
    const damage = (on: boolean) =>
      db.exec([
        [
          on
            ? `UPDATE row_changes SET after_image = 'X' || after_image WHERE tenant_id = 'c2' AND table_name = 'tenants' AND op = 'I'`
            : `UPDATE row_changes SET after_image = substr(after_image, 2) WHERE tenant_id = 'c2' AND table_name = 'tenants' AND op = 'I'`,
        ],
      ]);
    await damage(true);
    const planned = await create(restoreBody(['c1', 'c2'], M));
    expect(planned.status).toBe(422);
    expect(planned.body.code).toBe('CHANGE_REQUEST.INELIGIBLE_TARGET');
    expect(planned.body.details).toEqual([
      {
        target: 'tenant:c2',
        reason: expect.stringMatching(
          /capture is damaged: captured change \d+ of tenant c2 .*ARCHIVE\.CORRUPT/,
        ),
      },
    ]);

    // Damaged after the approval: c2 fails with the archive's error and keeps its rows; c1 (first wave) is restored.
    await damage(false);
    const cr = await approvedCr(t, a.maker.token, [a.checker1.token, a.checker2.token], {
      ...restoreBody(['c1', 'c2'], M),
      waves: { sizes: [1, 1], bakeSeconds: 0 },
    });
    await damage(true);
    const before = await tenantCopies(db, ['c2']);
    await execute(t, a.checker1.token, cr.id);
    const p = await waitFor(
      t,
      a.viewer.token,
      cr.id,
      (x) => x.status !== 'running' && x.status !== 'approved',
    );
    expect(p.status).toBe('halted');
    const targets = await t.http().get(`/api/change-requests/${cr.id}/targets`).set(bearer(a.viewer.token));
    const byId = new Map(
      (targets.body.items as { id: string; status: string; error?: string }[]).map((x) => [x.id, x]),
    );
    expect(byId.get('c1')?.status).toBe('succeeded');
    expect(byId.get('c2')?.status).toBe('failed');
    expect(byId.get('c2')?.error).toMatch(/ARCHIVE\.CORRUPT|capture is damaged/);
    expect(await tenantCopies(db, ['c2'])).toEqual(before);
    expect(await tenantCopies(db, ['c1'])).toEqual(c1AtM);
    await damage(false);
  });

  // Last: the archive's first base moves the start of the restorable window to it.
  it('refuses a restore whose archive file is damaged beyond repair, naming the tenant and the file; writes nothing', async () => {
    const archive = t.app.get(ArchiveService);
    await archive.base();
    const res = await t
      .http()
      .post('/api/tenants')
      .set(bearer(t.adminToken))
      .send({
        id: 's1',
        name: 'Customer s1',
        tier: 'standard',
        installations: [{ appKey: 'jira', data: { v: 1 } }],
      });
    expect(res.status).toBe(201);
    const seg = (await archive.step()).segment;
    expect(seg).toBeDefined();
    const M = await moment();
    await db.exec([[`UPDATE installations SET data = '{"v":2}' WHERE tenant_id = 's1'`]]);
    expect((await archive.step()).segment).toBeDefined();
    const file = join(t.config.archiveDir, seg?.file as string);
    // Three damaged blocks in one stripe of 8 data + 2 parity blocks: beyond what parity repairs (ADR 0014).
    const shard = Math.max(64, Math.min(4096, Math.ceil(statSync(file).size / 8 / 8) * 8));
    const flip = () => {
      const b = readFileSync(file);
      for (const o of [1, shard + 1, 2 * shard + 1]) b[o] ^= 0x5a;
      chmodSync(file, 0o644);
      writeFileSync(file, b);
    };
    flip();
    const before = await tenantCopies(db, ['s1']);
    const r = await create(restoreBody(['s1'], M));
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('CHANGE_REQUEST.INELIGIBLE_TARGET');
    expect(r.body.details).toEqual([
      {
        target: 'tenant:s1',
        reason: expect.stringMatching(
          new RegExp(`${seg?.file as string} is damaged beyond repair.*ARCHIVE\\.CORRUPT`),
        ),
      },
    ]);
    expect(await tenantCopies(db, ['s1'])).toEqual(before);
    flip(); // undone: the same plan is accepted
    expect((await create(restoreBody(['s1'], M))).status).toBe(201);
  });
});
