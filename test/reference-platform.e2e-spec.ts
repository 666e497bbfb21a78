// The reference platform on its own (examples/reference-platform): the contract Wavegate relies on, on the
// database of the pass (SQLite file / PostgreSQL schema).
import {
  PLATFORM_SECRET,
  RunningPlatform,
  signBody,
  startReferencePlatform,
} from './support/reference-platform';

describe('reference platform', () => {
  let p: RunningPlatform;

  beforeAll(async () => {
    p = await startReferencePlatform();
    await p.platform.seed({ tenants: 30 });
  });
  afterAll(() => p.stop());

  const call = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const raw = JSON.stringify(body);
    const res = await fetch(`${p.url}/wavegate/v1${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-wavegate-signature': signBody(PLATFORM_SECRET, raw),
        ...headers,
      },
      body: raw,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('refuses unsigned, badly signed and stale calls', async () => {
    const raw = JSON.stringify({ limit: 5 });
    const unsigned = await fetch(`${p.url}/wavegate/v1/inventory`, { method: 'POST', body: raw });
    expect(unsigned.status).toBe(401);
    const wrong = await fetch(`${p.url}/wavegate/v1/inventory`, {
      method: 'POST',
      headers: { 'x-wavegate-signature': signBody('another-secret-0123456789', raw) },
      body: raw,
    });
    expect(wrong.status).toBe(401);
    const stale = await fetch(`${p.url}/wavegate/v1/inventory`, {
      method: 'POST',
      headers: { 'x-wavegate-signature': signBody(PLATFORM_SECRET, raw, Date.now() - 600_000) },
      body: raw,
    });
    expect(stale.status).toBe(401);
    expect(await stale.json()).toEqual({ error: 'signature timestamp too old' });
  });

  it('pages the inventory with installations', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const r = await call('/inventory', { limit: 7, cursor });
      expect(r.status).toBe(200);
      const items = r.body.items as { id: string; installations: { appKey: string; status: string }[] }[];
      seen.push(...items.map((i) => i.id));
      expect(items.every((i) => i.installations.length === 2)).toBe(true);
      cursor = r.body.nextCursor as string | undefined;
    } while (cursor);
    expect(seen).toHaveLength(30);
    expect(new Set(seen).size).toBe(30);
  });

  it('reads a batch of states, applies once per Idempotency-Key, undoes, and breaks the Nth deactivated tenant', async () => {
    const states = await call('/operations/deactivate_app/state', {
      targets: [
        { type: 'installation', id: 'site-0001/insight' },
        { type: 'installation', id: 'site-0001' },
        { type: 'installation', id: 'site-0999/insight' },
      ],
    });
    expect(states.body.items).toEqual([
      {
        type: 'installation',
        id: 'site-0001/insight',
        found: true,
        state: 'active',
        eligible: true,
        to: 'deactivated',
      },
      { type: 'installation', id: 'site-0001', found: false, state: 'absent' },
      { type: 'installation', id: 'site-0999/insight', found: false, state: 'absent' },
    ]);
    p.platform.faults = { breakAfterNthDeactivation: 2 };
    const apply = (id: string, key: string) =>
      call(
        '/operations/deactivate_app/apply',
        { target: { type: 'installation', id }, expectedState: 'active' },
        { 'idempotency-key': key },
      );
    expect((await apply('site-0001/insight', 'k1')).body).toEqual({
      state: 'deactivated',
      previous: 'active',
    });
    // The same key again: the first answer, nothing applied, counted.
    expect((await apply('site-0001/insight', 'k1')).body).toEqual({
      state: 'deactivated',
      previous: 'active',
    });
    expect(await p.platform.repeatedKeys()).toEqual({ k1: 1 });
    // A new key on a target that is no longer in the expected state: refused (drift).
    const drift = await apply('site-0001/insight', 'k1b');
    expect(drift.status).toBe(409);
    expect(drift.body).toMatchObject({ error: 'state_mismatch', state: 'deactivated' });
    await apply('site-0002/insight', 'k2');
    expect((await call('/verify', { tenantId: 'site-0001' })).body).toMatchObject({ healthy: true });
    expect((await call('/verify', { tenantId: 'site-0002' })).body).toEqual({
      healthy: false,
      reason: 'site-0002/insight: the site stopped serving pages after deactivate_app (injected fault)',
    });
    const undo = await call(
      '/operations/deactivate_app/undo',
      { target: { type: 'installation', id: 'site-0002/insight' }, expectedState: 'deactivated' },
      { 'idempotency-key': 'u2' },
    );
    expect(undo.body).toEqual({ state: 'active', previous: 'deactivated' });
    expect((await call('/verify', { tenantId: 'site-0002' })).body).toMatchObject({ healthy: true });
    expect(p.platform.effects.map((e) => `${e.kind}:${e.target}`)).toEqual([
      'apply:site-0001/insight',
      'apply:site-0002/insight',
      'undo:site-0002/insight',
    ]);
    const all = await p.platform.readAll();
    expect(all['site-0001'].installations.insight).toBe('deactivated');
    expect(all['site-0002'].installations.insight).toBe('active');
    expect(p.platform.calls.filter((c) => c.repeated).map((c) => c.idempotencyKey)).toEqual(['k1']);
  });

  it('deletes a site with all its rows (permanent_delete) and has no undo for it', async () => {
    const mark = await call(
      '/operations/mark_site_for_deletion/apply',
      { target: { type: 'tenant', id: 'site-0010' } },
      { 'idempotency-key': 'm10' },
    );
    expect(mark.body).toEqual({ state: 'marked_for_deletion', previous: 'active' });
    const del = await call(
      '/operations/delete_site/apply',
      { target: { type: 'tenant', id: 'site-0010' } },
      { 'idempotency-key': 'd10' },
    );
    expect(del.body).toEqual({ state: 'absent', previous: 'marked_for_deletion' });
    const rows = await p.platform.db.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM site_pages WHERE site_id = ?`,
      ['site-0010'],
    );
    expect(Number(rows[0].n)).toBe(0);
    expect(
      (
        await call(
          '/operations/delete_site/undo',
          { target: { type: 'tenant', id: 'site-0010' } },
          { 'idempotency-key': 'x' },
        )
      ).status,
    ).toBe(404);
    const bad = await call(
      '/operations/deactivate_app/apply',
      { target: { type: 'tenant', id: 'site-0011' } },
      { 'idempotency-key': 'y' },
    );
    expect(bad.status).toBe(422);
    expect(bad.body.error).toMatch(/^target.type:/);
  });
});
