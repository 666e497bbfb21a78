import { DataSource } from 'typeorm';
import { FakeClock } from '../src/common/clock';
import {
  apiToken,
  createActors,
  createApps,
  importTenants,
  installations,
  Actors,
} from './support/factories';
import { approvedCr, execute, progress, sleep, waitFor } from './support/rollouts';
import { bearer, onPostgres, startTestApp, TestApp } from './support/test-app';

// The wave engine through the HTTP API on a real database (SQLite, or PostgreSQL with TEST_DATABASE_URL).
// Time is a FakeClock: bakes end when the test advances it, never by sleeping.
describe('wave engine', () => {
  let t: TestApp;
  let clock: FakeClock;
  let a: Actors;
  let automation: string;
  let ids: string[];

  const rows = async () => {
    const ds = t.app.get(DataSource);
    const tenants = (await ds.query('SELECT * FROM tenants ORDER BY id')) as Record<string, unknown>[];
    const installs = (await ds.query('SELECT * FROM installations ORDER BY tenant_id, app_key')) as Record<
      string,
      unknown
    >[];
    const byTenant = new Map<string, string>();
    for (const r of tenants) byTenant.set(String(r.id), JSON.stringify(r));
    for (const r of installs)
      byTenant.set(String(r.tenant_id), `${byTenant.get(String(r.tenant_id))}|${JSON.stringify(r)}`);
    return byTenant;
  };

  beforeAll(async () => {
    process.env.WAVEGATE_ENGINE_POLL_MS = '20';
    clock = new FakeClock('2026-03-01T10:00:00.000Z');
    t = await startTestApp({ clock });
    a = await createActors(t);
    automation = await apiToken(t, 'automation');
    await createApps(t);
    ids = await importTenants(t, 1000);
  });
  afterAll(async () => {
    await t.close();
  });

  it('drill: a critical signal after wave 1 halts the rollout; rollback restores; no other tenant changes', async () => {
    const before = await rows();
    const cr = await approvedCr(t, a.maker.token, [a.checker1.token, a.checker2.token, a.checker3.token], {
      title: 'Retire insight everywhere',
      targets: installations(ids, 'insight'),
      waves: { bakeSeconds: 1 },
      ticket: 'OPS-1',
    });
    await execute(t, a.checker1.token, cr.id);
    const afterWave1 = await waitFor(t, a.viewer.token, cr.id, (p) => p.waves[0]?.status === 'completed');
    expect(afterWave1.progress.succeeded).toBe(1);

    const signal = await t.http().post('/api/signals').set(bearer(automation)).send({
      source: 'pagerduty',
      severity: 'critical',
      changeRequestId: cr.id,
      message: 'insight errors up 40x',
    });
    expect(signal.status).toBe(201);
    expect(signal.body.halted).toEqual([cr.id]);

    const halted = await progress(t, a.viewer.token, cr.id);
    expect(halted.status).toBe('halted');
    expect(halted.haltReason).toContain('insight errors up 40x');
    const touched = halted.progress.succeeded + halted.progress.failed + halted.progress.running;
    expect(touched).toBeGreaterThanOrEqual(1);
    expect(touched).toBeLessThanOrEqual(3);

    // Long past the bake: still nothing new starts.
    clock.advance(60_000);
    await sleep(300);
    const still = await progress(t, a.viewer.token, cr.id);
    expect(still.status).toBe('halted');
    expect(still.progress.succeeded).toBe(halted.progress.succeeded);
    expect(still.progress.pending).toBe(1000 - touched);

    const rb = await t
      .http()
      .post(`/api/change-requests/${cr.id}/rollback`)
      .set(bearer(a.checker2.token))
      .send({ reason: 'drill' });
    expect(rb.status).toBe(202);
    const done = await waitFor(t, a.viewer.token, cr.id, (p) => p.status === 'rolled_back');
    expect(done.progress.rolled_back).toBe(touched);
    expect(done.progress.skipped).toBe(1000 - touched);

    const list = await t
      .http()
      .get(`/api/change-requests/${cr.id}/targets?status=rolled_back`)
      .set(bearer(a.viewer.token));
    expect(list.status).toBe(200);
    const rolledBack = (list.body.items as { id: string }[]).map((i) => i.id.split('/')[0]);
    expect(rolledBack).toHaveLength(touched);
    for (const id of rolledBack) {
      const tenant = await t.http().get(`/api/tenants/${id}`).set(bearer(a.viewer.token));
      const insight = (tenant.body.installations as { appKey: string; status: string }[]).find(
        (i) => i.appKey === 'insight',
      );
      expect(insight?.status).toBe('active');
    }
    const after = await rows();
    let identical = 0;
    for (const [id, row] of before) {
      if (rolledBack.includes(id)) continue;
      expect(after.get(id)).toBe(row);
      identical++;
    }
    expect(identical).toBe(1000 - touched);
  });

  it('a failing target in wave 1 halts the CR with the failure visible', async () => {
    // First deactivate t00000's jira through its own CR, so the second CR's plan no longer matches (drift).
    const first = await approvedCr(t, a.maker.token, [a.checker1.token], {
      title: 'jira off for t00000',
      targets: installations([ids[0]], 'jira'),
      waves: { bakeSeconds: 0 },
    });
    const second = await approvedCr(t, a.maker.token, [a.checker1.token], {
      title: 'jira off for five',
      targets: installations(ids.slice(0, 5), 'jira'),
      waves: { bakeSeconds: 0 },
    });
    await execute(t, a.checker1.token, first.id);
    await waitFor(t, a.viewer.token, first.id, (p) => p.status === 'completed');
    await execute(t, a.checker1.token, second.id);
    const p = await waitFor(t, a.viewer.token, second.id, (x) => x.status === 'halted');
    expect(p.progress.failed).toBe(1);
    expect(p.progress.succeeded).toBe(0);
    expect(p.haltReason).toContain(`installation:${ids[0]}/jira`);
    expect(p.haltReason).toContain('drift');
    const failed = await t
      .http()
      .get(`/api/change-requests/${second.id}/targets?status=failed`)
      .set(bearer(a.viewer.token));
    expect(failed.body.items[0]).toMatchObject({ id: `${ids[0]}/jira`, status: 'failed', wave: 1 });
    expect(failed.body.items[0].error).toContain('drift');

    // Resuming a halted CR needs a checker who is not the author.
    const byAuthor = await t
      .http()
      .post(`/api/change-requests/${second.id}/resume`)
      .set(bearer(a.maker.token))
      .send({});
    expect(byAuthor.status).toBe(403);
    const abort = await t
      .http()
      .post(`/api/change-requests/${second.id}/abort`)
      .set(bearer(a.checker2.token))
      .send({ reason: 'plan is stale' });
    expect(abort.status).toBe(200);
    expect(abort.body.status).toBe('aborted');
    expect(abort.body.progress.skipped).toBe(4);
  });

  it('a target whose write breaks a database constraint fails and halts the CR (it is not retried forever)', async () => {
    // The database refuses one tenant's change (a rule of the database, not of the operation): a CHECK constraint on
    // PostgreSQL, a trigger that raises on SQLite. The engine used to take any database error for a passing one and
    // retry the batch on every tick, so this CR stayed `running` and nothing was recorded.
    const ds = t.app.get(DataSource);
    const [before, victim, after] = ids.slice(600, 603);
    const rule = 'wg_test_refuses_one_tenant';
    if (onPostgres())
      await ds.query(
        `ALTER TABLE installations ADD CONSTRAINT ${rule} CHECK (tenant_id <> '${victim}' OR status = 'active') NOT VALID`,
      );
    else
      await ds.query(
        `CREATE TRIGGER ${rule} BEFORE UPDATE ON installations WHEN NEW.tenant_id = '${victim}'
         BEGIN SELECT RAISE(ABORT, '${rule}: this tenant refuses'); END`,
      );
    try {
      const cr = await approvedCr(t, a.maker.token, [a.checker1.token], {
        title: 'jira off for three, one refused by the database',
        targets: installations([before, victim, after], 'jira'),
        waves: { sizes: [1, 2], bakeSeconds: 0 },
      });
      await execute(t, a.checker1.token, cr.id);
      const p = await waitFor(
        t,
        a.viewer.token,
        cr.id,
        (x) => x.status !== 'running' && x.status !== 'approved',
      );
      expect(p.status).toBe('halted');
      expect(p.progress.failed).toBe(1);
      expect(p.haltReason).toContain(`installation:${victim}/jira`);
      const failed = await t
        .http()
        .get(`/api/change-requests/${cr.id}/targets?status=failed`)
        .set(bearer(a.viewer.token));
      expect(failed.body.items).toEqual([
        expect.objectContaining({
          id: `${victim}/jira`,
          status: 'failed',
          error: expect.stringContaining(rule),
        }),
      ]);
      const rows = (await ds.query(
        `SELECT tenant_id, status FROM installations WHERE app_key = 'jira' AND tenant_id IN ('${victim}')`,
      )) as { status: string }[];
      expect(rows[0].status).toBe('active');
    } finally {
      await ds.query(
        onPostgres() ? `ALTER TABLE installations DROP CONSTRAINT ${rule}` : `DROP TRIGGER ${rule}`,
      );
    }
  });

  it('pause, resume, halt by operator, checker resume with bake on the clock; SSE resumable with Last-Event-ID', async () => {
    const targets = ids.slice(100, 120);
    const cr = await approvedCr(t, a.maker.token, [a.checker1.token], {
      title: 'confluence off for 20',
      targets: installations(targets, 'confluence'),
      waves: { sizes: [1, 2, 17], bakeSeconds: 30 },
    });
    await execute(t, a.checker1.token, cr.id);
    await waitFor(t, a.viewer.token, cr.id, (p) => p.waves[0]?.status === 'completed');
    const paused = await t
      .http()
      .post(`/api/change-requests/${cr.id}/pause`)
      .set(bearer(a.maker.token))
      .send({ reason: 'lunch' });
    expect(paused.body.status).toBe('paused');
    clock.advance(31_000);
    await sleep(200);
    expect((await progress(t, a.viewer.token, cr.id)).progress.succeeded).toBe(1);
    // A paused CR resumes by any operator (the author too).
    const resumed = await t
      .http()
      .post(`/api/change-requests/${cr.id}/resume`)
      .set(bearer(a.maker.token))
      .send({});
    expect(resumed.body.status).toBe('running');
    await waitFor(t, a.viewer.token, cr.id, (p) => p.waves[1]?.status === 'completed');
    const halt = await t
      .http()
      .post(`/api/change-requests/${cr.id}/halt`)
      .set(bearer(a.checker2.token))
      .send({ reason: 'looks odd' });
    expect(halt.body.status).toBe('halted');
    expect(halt.body.haltReason).toBe('looks odd');
    const ok = await t
      .http()
      .post(`/api/change-requests/${cr.id}/resume`)
      .set(bearer(a.checker2.token))
      .send({ reason: 'fine' });
    expect(ok.body.status).toBe('running');
    // Wave 3 waits for the bake (30 s on the fake clock).
    await sleep(200);
    expect((await progress(t, a.viewer.token, cr.id)).progress.succeeded).toBe(3);
    clock.advance(30_000);
    const done = await waitFor(t, a.viewer.token, cr.id, (p) => p.status === 'completed');
    expect(done.progress.succeeded).toBe(20);
    expect(done.haltReason).toBe('looks odd');

    // The CR's own GET carries the same progress.
    const get = await t.http().get(`/api/change-requests/${cr.id}`).set(bearer(a.viewer.token));
    expect(get.body.progress.succeeded).toBe(20);
    expect(get.body.waves.map((w: { status: string }) => w.status)).toEqual([
      'completed',
      'completed',
      'completed',
    ]);

    // SSE: replay after a known event id.
    const feed = await t.http().get('/api/events').set(bearer(t.adminToken));
    expect(feed.status).toBe(200);
    const started = await sseUntil(t, cr.id, '0', 'change_request.completed');
    expect(started).toContain('event: change_request.started');
    expect(started.match(/event: change_request.target_succeeded/g)).toHaveLength(20);
    const firstId = Number(/id: (\d+)\nevent: change_request.target_succeeded/.exec(started)?.[1]);
    const resumedStream = await sseUntil(t, cr.id, String(firstId), 'change_request.completed');
    expect(resumedStream.match(/event: change_request.target_succeeded/g)).toHaveLength(19);
  });

  it('SSE: a new client gets the progress first, then live events as the next wave runs', async () => {
    const cr = await approvedCr(t, a.maker.token, [a.checker1.token], {
      title: 'confluence off for 3 (live)',
      targets: installations(ids.slice(400, 403), 'confluence'),
      waves: { sizes: [1, 2], bakeSeconds: 30 },
    });
    await execute(t, a.checker1.token, cr.id);
    await waitFor(t, a.viewer.token, cr.id, (p) => p.waves[0]?.status === 'completed');
    const text = await sseUntil(t, cr.id, undefined, 'change_request.completed', () => clock.advance(30_000));
    const events = [...text.matchAll(/event: (\S+)/g)].map((m) => m[1]);
    expect(events[0]).toBe('progress');
    expect(events.slice(1)).toEqual([
      'change_request.wave_started',
      'change_request.target_succeeded',
      'change_request.target_succeeded',
      'change_request.wave_completed',
      'change_request.completed',
    ]);
  });

  it('an approved CR with scheduledAt starts by itself when the clock reaches it', async () => {
    const at = new Date(clock.now().getTime() + 3600_000).toISOString();
    const cr = await approvedCr(t, a.maker.token, [a.checker1.token], {
      title: 'scheduled: confluence off for 3',
      targets: installations(ids.slice(300, 303), 'confluence'),
      waves: { bakeSeconds: 0 },
      scheduledAt: at,
    });
    await sleep(200);
    expect((await progress(t, a.viewer.token, cr.id)).status).toBe('approved');
    clock.advance(3600_000);
    const done = await waitFor(t, a.viewer.token, cr.id, (p) => p.status === 'completed');
    expect(done.progress.succeeded).toBe(3);
  });

  it('an Alertmanager alert naming a tenant of a completed wave halts the CR; a resolved one only records', async () => {
    const targets = ids.slice(200, 230);
    const cr = await approvedCr(t, a.maker.token, [a.checker1.token], {
      title: 'confluence off for 30',
      targets: installations(targets, 'confluence'),
      waves: { sizes: [1, 2], bakeSeconds: 60 },
    });
    await execute(t, a.checker1.token, cr.id);
    const p = await waitFor(t, a.viewer.token, cr.id, (x) => x.waves[0]?.status === 'completed');
    expect(p.status).toBe('running');
    const list = await t
      .http()
      .get(`/api/change-requests/${cr.id}/targets?status=succeeded`)
      .set(bearer(a.viewer.token));
    const tenant = list.body.items[0].tenantId as string;
    const alert = (status: string, labels: Record<string, string>) => ({
      version: '4',
      status,
      receiver: 'wavegate',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://alertmanager',
      groupKey: '{}',
      alerts: [
        {
          status,
          labels: { alertname: 'HighErrorRate', severity: 'critical', ...labels },
          annotations: { summary: '5xx above 10 %' },
          startsAt: '2026-03-01T10:00:00Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://prom',
          fingerprint: 'abc',
        },
      ],
    });
    // A tenant outside the CR: recorded, no halt.
    const unrelated = await t
      .http()
      .post('/api/signals/alertmanager')
      .set(bearer(automation))
      .send(alert('firing', { tenant: ids[999] }));
    expect(unrelated.status).toBe(200);
    expect(unrelated.body.items[0].halted).toEqual([]);
    const resolved = await t
      .http()
      .post('/api/signals/alertmanager')
      .set(bearer(automation))
      .send(alert('resolved', { tenant }));
    expect(resolved.body.items[0].halted).toEqual([]);
    const firing = await t
      .http()
      .post('/api/signals/alertmanager')
      .set(bearer(automation))
      .send(alert('firing', { tenant }));
    expect(firing.body.items[0].halted).toEqual([cr.id]);
    const h = await progress(t, a.viewer.token, cr.id);
    expect(h.status).toBe('halted');
    expect(h.haltReason).toContain('5xx above 10 %');
    // Signals need an automation/admin token or an admin; a viewer is refused, a bad body is a 400.
    expect((await t.http().post('/api/signals').set(bearer(a.viewer.token)).send({})).status).toBe(403);
    const bad = await t
      .http()
      .post('/api/signals')
      .set(bearer(automation))
      .send({ source: 'x', severity: 'fatal', message: 'm' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.details)).toContain('severity');
  });
});

/** Reads the SSE stream of a CR from `lastEventId` until `stopAt` arrives; returns the raw text. */
async function sseUntil(
  t: TestApp,
  crId: string,
  lastEventId: string | undefined,
  stopAt: string,
  onOpen?: () => void,
): Promise<string> {
  const server = t.app.getHttpServer();
  if (!server.listening) await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const ctl = new AbortController();
  const res = await fetch(`http://127.0.0.1:${port}/api/change-requests/${crId}/stream`, {
    headers: {
      Authorization: `Bearer ${t.adminToken}`,
      ...(lastEventId !== undefined ? { 'Last-Event-ID': lastEventId } : {}),
    },
    signal: ctl.signal,
  });
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  onOpen?.();
  const reader = res.body!.getReader();
  let text = '';
  const timeout = setTimeout(() => ctl.abort(), 10_000);
  try {
    while (!text.includes(`event: ${stopAt}`)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  } finally {
    clearTimeout(timeout);
    ctl.abort();
  }
  return text;
}
