import { DataSource } from 'typeorm';
import { FakeClock } from '../src/common/clock';
import { SnapshotsService } from '../src/snapshots/snapshots.service';
import { createActors, createApps, crBody, Actors, CrBody } from './support/factories';
import { approvedCr, execute, waitFor } from './support/rollouts';
import { bearer, startTestApp, TestApp } from './support/test-app';

// Soft delete, restore and purge with per-tenant encrypted snapshots (DESIGN.md "Soft delete, purge, restore").
describe('soft delete, restore, purge', () => {
  let t: TestApp;
  let clock: FakeClock;
  let a: Actors;
  let checkers: string[];
  const DAY = 86_400_000;

  const tenant = async (id: string) => {
    const res = await t.http().get(`/api/tenants/${id}`).set(bearer(a.viewer.token));
    expect(res.status).toBe(200);
    return res.body as Record<string, unknown> & {
      status: string;
      installations: { appKey: string; status: string }[];
    };
  };
  const run = async (body: CrBody, expectStatus = 'completed') => {
    const cr = await approvedCr(t, a.maker.token, checkers, body);
    await execute(t, a.checker1.token, cr.id);
    return { cr, p: await waitFor(t, a.viewer.token, cr.id, (x) => x.status === expectStatus) };
  };
  const tenants = (ids: string[]) => ids.map((id) => ({ type: 'tenant', id }));

  beforeAll(async () => {
    process.env.WAVEGATE_ENGINE_POLL_MS = '20';
    clock = new FakeClock('2026-04-01T08:00:00.000Z');
    // Sessions must outlive the fake days this file advances.
    t = await startTestApp({ clock, env: { WAVEGATE_SESSION_TTL_SECONDS: String(30 * 24 * 3600) } });
    a = await createActors(t);
    checkers = [a.checker1.token, a.checker2.token, a.checker3.token];
    await createApps(t);
    const rows = Array.from({ length: 10 }, (_, i) => ({
      id: `p${i}`,
      name: `Customer ${i}`,
      tier: 'standard',
      region: 'eu',
      attributes: { plan: 'team', seats: 10 + i },
      installations: [
        { appKey: 'jira', data: { projects: i, owner: `owner${i}@example.com` } },
        { appKey: 'insight', data: { schemas: [1, 2, i] } },
      ],
    }));
    const res = await t.http().post('/api/tenants').set(bearer(t.adminToken)).send({ tenants: rows });
    expect(res.status).toBe(201);
  });
  afterAll(async () => {
    await t.close();
  });

  it('soft delete keeps a snapshot; restore brings the tenant back identical; rollback of a soft delete too', async () => {
    const before1 = await tenant('p1');
    const before3 = await tenant('p3');
    const { cr } = await run({
      title: 'mark p1, p3 for deletion',
      operation: 'tenant.soft_delete',
      targets: tenants(['p1', 'p3']),
      waves: { bakeSeconds: 0 },
      ticket: 'DEL-1',
    });
    await run({
      title: 'mark p2 for deletion',
      operation: 'tenant.soft_delete',
      params: { retentionDays: 2 },
      targets: tenants(['p2']),
      waves: { bakeSeconds: 0 },
      ticket: 'DEL-1',
    });
    const p1 = await tenant('p1');
    expect(p1.status).toBe('soft_deleted');
    expect(p1.purgeAfter).toBe(new Date(clock.now().getTime() + 30 * DAY).toISOString());
    expect(p1.installations.every((i) => i.status === 'deactivated')).toBe(true);
    const snaps = await t.http().get('/api/tenants/p1/snapshots').set(bearer(a.viewer.token));
    expect(snaps.status).toBe(200);
    expect(snaps.body.items).toEqual([
      expect.objectContaining({ changeRequestId: cr.id, operation: 'tenant.soft_delete', readable: true }),
    ]);
    expect(JSON.stringify(snaps.body)).not.toContain('sealed');
    await t.http().get('/api/tenants/nope/snapshots').set(bearer(a.viewer.token)).expect(404);
    const targets = await t.http().get(`/api/change-requests/${cr.id}/targets`).set(bearer(a.viewer.token));
    expect(targets.body.items.every((x: { snapshotId?: string }) => typeof x.snapshotId === 'string')).toBe(
      true,
    );

    // Purge inside the retention is refused when the plan is built, naming the target.
    const early = await t
      .http()
      .post('/api/change-requests')
      .set(bearer(a.maker.token))
      .send(
        crBody({
          title: 'purge p2 now',
          operation: 'tenant.purge',
          targets: tenants(['p2']),
          ticket: 'DEL-2',
        }),
      );
    expect(early.status).toBe(422);
    expect(JSON.stringify(early.body.details)).toContain('retention');

    clock.advance(60_000);
    await run({
      title: 'restore p1',
      operation: 'tenant.restore',
      targets: tenants(['p1']),
      waves: { bakeSeconds: 0 },
      ticket: 'DEL-3',
    });
    expect(await tenant('p1')).toEqual(before1);

    // Rolling a soft delete back restores from the snapshot it took.
    const own = await run({
      title: 'mark p4',
      operation: 'tenant.soft_delete',
      targets: tenants(['p4']),
      waves: { bakeSeconds: 0 },
      ticket: 'DEL-4',
    });
    const rb = await t
      .http()
      .post(`/api/change-requests/${own.cr.id}/rollback`)
      .set(bearer(a.checker2.token))
      .send({});
    expect(rb.status).toBe(202);
    await waitFor(t, a.viewer.token, own.cr.id, (x) => x.status === 'rolled_back');
    expect((await tenant('p4')).status).toBe('active');
    expect((await tenant('p3')).status).toBe('soft_deleted');
    expect(before3.status).toBe('active');
  });

  it('a corrupted snapshot refuses to restore and says so', async () => {
    const ds = t.app.get(DataSource);
    const [snap] = (await ds.query(`SELECT id, sealed FROM tenant_snapshots WHERE tenant_id = 'p3'`)) as {
      id: string;
      sealed: string;
    }[];
    const raw = Buffer.from(snap.sealed, 'base64');
    raw[raw.length - 1] ^= 0xff;
    await ds.query(
      `UPDATE tenant_snapshots SET sealed = '${raw.toString('base64')}' WHERE id = '${snap.id}'`,
    );
    const { cr, p } = await run(
      {
        title: 'restore p3',
        operation: 'tenant.restore',
        targets: tenants(['p3']),
        waves: { bakeSeconds: 0 },
        ticket: 'DEL-5',
      },
      'halted',
    );
    expect(p.haltReason).toContain('corrupted');
    const failed = await t
      .http()
      .get(`/api/change-requests/${cr.id}/targets?status=failed`)
      .set(bearer(a.viewer.token));
    expect(failed.body.items[0].error).toMatch(/snapshot .* of tenant p3 is corrupted/);
    expect((await tenant('p3')).status).toBe('soft_deleted');
    await ds.query(`UPDATE tenant_snapshots SET sealed = '${snap.sealed}' WHERE id = '${snap.id}'`);
  });

  it('purge after the retention erases the rows, shreds the key and writes a receipt', async () => {
    const ds = t.app.get(DataSource);
    const copies = (await ds.query(`SELECT * FROM tenant_snapshots WHERE tenant_id = 'p2'`)) as Record<
      string,
      unknown
    >[];
    expect(copies).toHaveLength(1);
    clock.advance(2 * DAY + 60_000);
    const { cr } = await run({
      title: 'purge p2',
      operation: 'tenant.purge',
      targets: tenants(['p2']),
      waves: { bakeSeconds: 0 },
      ticket: 'DEL-6',
    });
    expect(cr.requiredApprovals).toBe(2);

    const p2 = await tenant('p2');
    expect(p2.status).toBe('purged');
    expect(p2.installations).toEqual([]);
    expect(JSON.stringify(p2)).not.toContain('Customer 2');
    expect(await ds.query(`SELECT * FROM installations WHERE tenant_id = 'p2'`)).toEqual([]);
    expect(await ds.query(`SELECT * FROM tenant_snapshots WHERE tenant_id = 'p2'`)).toEqual([]);
    const [key] = (await ds.query(`SELECT wrapped_key FROM tenant_keys WHERE tenant_id = 'p2'`)) as {
      wrapped_key: string | null;
    }[];
    expect(key.wrapped_key).toBeNull();
    // The captured images of p2 (docs/decisions/0011) are erased with it: one purge marker remains, no image.
    expect(
      await ds.query(`SELECT op, before_image, after_image FROM row_changes WHERE tenant_id = 'p2'`),
    ).toEqual([{ op: 'P', before_image: null, after_image: null }]);
    const feed = await t.http().get('/api/changes?limit=1000').set(bearer(t.adminToken));
    expect(feed.status).toBe(200);
    expect(JSON.stringify(feed.body)).not.toContain('Customer 2');
    expect(JSON.stringify(feed.body)).toContain('Customer 5');

    // A copy of the snapshot that survived elsewhere (a backup) can no longer be decrypted.
    const c = copies[0];
    await ds.query(
      `INSERT INTO tenant_snapshots (id, tenant_id, change_request_id, reason, hash, sealed, created_at) VALUES ('${c.id}', 'p2', '${c.change_request_id}', 'copy', '${c.hash}', '${c.sealed}', '${new Date(String(c.created_at)).toISOString()}')`,
    );
    const snapshots = t.app.get(SnapshotsService);
    await expect(snapshots.read(ds.manager, String(c.id))).rejects.toMatchObject({
      code: 'SNAPSHOT.KEY_DESTROYED',
    });

    const receipt = await t.http().get('/api/tenants/p2/erasure-receipt').set(bearer(a.viewer.token));
    expect(receipt.status).toBe(200);
    expect(receipt.body).toMatchObject({
      tenantId: 'p2',
      changeRequestId: cr.id,
      planHash: cr.planHash,
      erased: { installations: 2, snapshots: 1, dataKey: 'destroyed' },
    });
    expect(receipt.body.approvers).toHaveLength(2);
    expect(JSON.stringify(receipt.body)).not.toMatch(/Customer 2|owner2@example.com/);
    expect((await t.http().get('/api/tenants/p1/erasure-receipt').set(bearer(a.viewer.token))).status).toBe(
      404,
    );

    // Other tenants are untouched; p2 cannot be restored.
    expect((await tenant('p5')).status).toBe('active');
    const restore = await t
      .http()
      .post('/api/change-requests')
      .set(bearer(a.maker.token))
      .send(crBody({ title: 'restore p2', operation: 'tenant.restore', targets: tenants(['p2']) }));
    expect(restore.status).toBe(422);
  });
});
