// A small multi-tenant SaaS platform that Wavegate drives through the provider contract (docs/providers.md).
// Tenants are "sites"; each has app installations, pages and members, all in one shared database. It answers:
//   POST /wavegate/v1/inventory                       paged tenants with their installations
//   POST /wavegate/v1/operations/:operation/state     the current state of a batch of targets
//   POST /wavegate/v1/operations/:operation/apply     change one target (Idempotency-Key)
//   POST /wavegate/v1/operations/:operation/undo      reverse it (Idempotency-Key)
//   POST /wavegate/v1/verify                          is this tenant healthy?
// Every call must carry a valid `X-Wavegate-Signature` (HMAC-SHA256 of "<t>.<body>", |now - t| <= 300 s). A repeated
// Idempotency-Key returns the first answer without applying again, and is counted. Every call is recorded for
// tests, and `/_control/*` injects faults ("after the Nth deactivation, break that tenant").
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { Server } from 'node:http';
import express, { Request, Response } from 'express';
import { insertMany, PlatformDb, Queryable } from './platform.db';

export const CONTRACT_PREFIX = '/wavegate/v1';
const SIGNATURE_TOLERANCE_S = 300;

type TargetType = 'tenant' | 'installation';

/** What this platform can do to a target, as Wavegate registers it (see `providerDefinition`). */
export interface PlatformOperation {
  targetType: TargetType;
  risk: 'reversible' | 'irreversible';
  mode: string;
  description: string;
  /** The state a target must be in; the state it is in afterwards. */
  from: string;
  to: string;
}

export const PLATFORM_OPERATIONS: Record<string, PlatformOperation> = {
  deactivate_app: {
    targetType: 'installation',
    risk: 'reversible',
    mode: 'deactivate',
    description: 'Deactivates the app on the site; its pages are kept and it can be reactivated.',
    from: 'active',
    to: 'deactivated',
  },
  mark_site_for_deletion: {
    targetType: 'tenant',
    risk: 'reversible',
    mode: 'mark_for_deletion',
    description: 'Marks the site for deletion: it goes offline, nothing is deleted yet.',
    from: 'active',
    to: 'marked_for_deletion',
  },
  delete_site: {
    targetType: 'tenant',
    risk: 'irreversible',
    mode: 'permanent_delete',
    description: 'Deletes the site and all its rows (installations, pages, members) for good.',
    from: 'marked_for_deletion',
    to: 'absent',
  },
};

export interface RecordedCall {
  seq: number;
  at: string;
  endpoint: 'inventory' | 'state' | 'apply' | 'undo' | 'verify';
  operation: string | null;
  idempotencyKey: string | null;
  /** Target ids (`site-0001`, `site-0001/insight`) or the verified tenant. */
  targets: string[];
  status: number;
  /** A repeated Idempotency-Key: answered from the first call, nothing applied. */
  repeated: boolean;
}

/** One change the platform actually made (a repeated key never adds one). */
export interface AppliedEffect {
  idempotencyKey: string;
  kind: 'apply' | 'undo';
  operation: string;
  target: string;
  tenantId: string;
  from: string;
  to: string;
}

export interface Faults {
  /** After the Nth successful `deactivate_app` apply (1-based), that tenant is broken: its verify fails. */
  breakAfterNthDeactivation?: number;
  /** Every verify waits this long before answering (to test Wavegate's timeout). */
  verifyDelayMs?: number;
  /** Applies to these targets answer 500 (to test retries and failures). */
  failApplyTargets?: string[];
}

export interface SeedOptions {
  tenants: number;
  apps?: string[];
  pagesPerSite?: number;
  membersPerSite?: number;
  /** Site ids are `${prefix}0001`…; default `site-`. */
  prefix?: string;
}

export interface ReferencePlatformOptions {
  db: PlatformDb;
  /** The shared secret Wavegate signs with (the provider's `secret`). */
  secret: string;
  /** Optional token for `/_control/*` over HTTP (header `x-control-token`); in-process control needs none. */
  controlToken?: string;
  now?: () => Date;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const targetOf = (raw: unknown): { type: string; id: string } | null =>
  raw !== null &&
  typeof raw === 'object' &&
  typeof (raw as { type?: unknown }).type === 'string' &&
  typeof (raw as { id?: unknown }).id === 'string'
    ? { type: (raw as { type: string }).type, id: (raw as { id: string }).id }
    : null;

export class ReferencePlatform {
  readonly db: PlatformDb;
  readonly calls: RecordedCall[] = [];
  readonly effects: AppliedEffect[] = [];
  faults: Faults = {};
  /** Tenants the fault injection broke, with the reason their verify gives. */
  readonly broken = new Map<string, string>();
  /**
   * Tests: awaited after a change committed and before its answer is sent (e.g. to kill Wavegate at the worst
   * moment: the platform applied the change, Wavegate never hears of it and must call again with the same key).
   */
  afterApply?: (effect: AppliedEffect) => Promise<void> | void;
  private deactivations = 0;
  private server?: Server;
  private readonly now: () => Date;

  constructor(private readonly options: ReferencePlatformOptions) {
    this.db = options.db;
    this.now = options.now ?? (() => new Date());
  }

  // --- data -----------------------------------------------------------------------------------------------------

  /** Seeds `tenants` sites, each with its apps installed (active), pages per app and members. */
  async seed(o: SeedOptions): Promise<string[]> {
    const apps = o.apps ?? ['insight', 'forms'];
    const prefix = o.prefix ?? 'site-';
    const at = this.now().toISOString();
    const ids = Array.from({ length: o.tenants }, (_, i) => `${prefix}${String(i + 1).padStart(4, '0')}`);
    const sites = ids.map((id, i) => [
      id,
      `Site ${id}`,
      i < 3 ? 'internal' : i % 50 === 49 ? 'key' : 'standard',
      i % 2 === 0 ? 'eu' : 'us',
      'active',
      at,
    ]);
    const installations = ids.flatMap((id) =>
      apps.map((a) => [id, a, 'active', JSON.stringify({ theme: 'light', seats: 5 }), at]),
    );
    const pages = ids.flatMap((id) =>
      apps.flatMap((a) =>
        Array.from({ length: o.pagesPerSite ?? 2 }, (_, p) => [
          `${id}:${a}:${p}`,
          id,
          a,
          `${a} page ${p}`,
          `Content of ${a} page ${p} on ${id}`,
          1,
          at,
        ]),
      ),
    );
    const members = ids.flatMap((id) =>
      Array.from({ length: o.membersPerSite ?? 1 }, (_, m) => [
        `${id}:m${m}`,
        id,
        `user${m}@${id}.example`,
        m === 0 ? 'owner' : 'editor',
      ]),
    );
    await this.db.transaction(async (q) => {
      await insertMany(q, 'sites', ['id', 'name', 'tier', 'region', 'status', 'updated_at'], sites);
      await insertMany(
        q,
        'app_installations',
        ['site_id', 'app_key', 'status', 'settings', 'updated_at'],
        installations,
      );
      await insertMany(
        q,
        'site_pages',
        ['id', 'site_id', 'app_key', 'title', 'body', 'revision', 'updated_at'],
        pages,
      );
      await insertMany(q, 'site_members', ['id', 'site_id', 'email', 'role'], members);
    });
    return ids;
  }

  /** The product's own write path (a tenant editing a page): used to show other tenants keep writing. */
  async writePage(siteId: string, appKey: string, title: string): Promise<void> {
    const at = this.now().toISOString();
    await this.db.run(
      `INSERT INTO site_pages (id, site_id, app_key, title, body, revision, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?)`,
      [
        `${siteId}:${appKey}:${Date.now()}:${Math.random().toString(36).slice(2, 8)}`,
        siteId,
        appKey,
        title,
        title,
        at,
      ],
    );
  }

  /** Current state of a target, or null when it does not exist. */
  async stateOf(q: Queryable, type: string, id: string): Promise<string | null> {
    if (type === 'tenant') {
      const r = await q.query<{ status: string }>(`SELECT status FROM sites WHERE id = ?`, [id]);
      return r[0]?.status ?? null;
    }
    if (type === 'installation') {
      const slash = id.indexOf('/');
      if (slash < 1) return null;
      const r = await q.query<{ status: string }>(
        `SELECT status FROM app_installations WHERE site_id = ? AND app_key = ?`,
        [id.slice(0, slash), id.slice(slash + 1)],
      );
      return r[0]?.status ?? null;
    }
    return null;
  }

  /** Every site with its installations' states, for tests comparing "before" and "after". */
  async readAll(): Promise<Record<string, { status: string; installations: Record<string, string> }>> {
    const out: Record<string, { status: string; installations: Record<string, string> }> = {};
    for (const s of await this.db.query<{ id: string; status: string }>(
      `SELECT id, status FROM sites ORDER BY id`,
    ))
      out[s.id] = { status: s.status, installations: {} };
    for (const i of await this.db.query<{ site_id: string; app_key: string; status: string }>(
      `SELECT site_id, app_key, status FROM app_installations`,
    ))
      if (out[i.site_id]) out[i.site_id].installations[i.app_key] = i.status;
    return out;
  }

  /** How often each Idempotency-Key came again after its first answer. */
  async repeatedKeys(): Promise<Record<string, number>> {
    const rows = await this.db.query<{ idempotency_key: string; repeats: number }>(
      `SELECT idempotency_key, repeats FROM platform_idempotency WHERE repeats > 0`,
    );
    return Object.fromEntries(rows.map((r) => [r.idempotency_key, Number(r.repeats)]));
  }

  resetCalls(): void {
    this.calls.length = 0;
  }

  // --- the contract -----------------------------------------------------------------------------------------------

  private verifySignature(req: Request, raw: string): string | null {
    const header = req.header('x-wavegate-signature');
    if (!header) return 'missing X-Wavegate-Signature';
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
    if (!m) return 'malformed X-Wavegate-Signature';
    const t = Number(m[1]);
    if (Math.abs(this.now().getTime() / 1000 - t) > SIGNATURE_TOLERANCE_S)
      return 'signature timestamp too old';
    const expected = createHmac('sha256', this.options.secret).update(`${t}.${raw}`).digest();
    const given = Buffer.from(m[2], 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected) ? null : 'bad signature';
  }

  private record(c: Omit<RecordedCall, 'seq' | 'at'>): void {
    this.calls.push({ seq: this.calls.length + 1, at: this.now().toISOString(), ...c });
  }

  private async inventory(body: Record<string, unknown>): Promise<Answer> {
    const limit = Math.min(Math.max(Number(body.limit ?? 500) || 500, 1), 1000);
    const cursor = typeof body.cursor === 'string' ? body.cursor : '';
    const sites = await this.db.query<{
      id: string;
      name: string;
      tier: string;
      region: string | null;
      status: string;
    }>(`SELECT id, name, tier, region, status FROM sites WHERE id > ? ORDER BY id LIMIT ?`, [
      cursor,
      limit + 1,
    ]);
    const page = sites.slice(0, limit);
    const byId = new Map(page.map((s) => [s.id, [] as { appKey: string; status: string }[]]));
    if (page.length > 0) {
      const rows = await this.db.query<{ site_id: string; app_key: string; status: string }>(
        `SELECT site_id, app_key, status FROM app_installations WHERE site_id >= ? AND site_id <= ? ORDER BY site_id, app_key`,
        [page[0].id, page[page.length - 1].id],
      );
      for (const r of rows) byId.get(r.site_id)?.push({ appKey: r.app_key, status: r.status });
    }
    return {
      status: 200,
      body: {
        items: page.map((s) => ({
          id: s.id,
          name: s.name,
          tier: s.tier,
          region: s.region,
          status: s.status,
          installations: byId.get(s.id) ?? [],
        })),
        ...(sites.length > limit ? { nextCursor: page[page.length - 1].id } : {}),
      },
    };
  }

  private async state(op: PlatformOperation, body: Record<string, unknown>): Promise<Answer> {
    const raw = Array.isArray(body.targets) ? body.targets : null;
    if (!raw || raw.length > 1000)
      return { status: 400, body: { error: 'targets: must be a list of at most 1000 {type, id}' } };
    const items = [];
    for (const r of raw) {
      const t = targetOf(r);
      if (!t) return { status: 400, body: { error: 'targets[]: must be {type, id}' } };
      const state = t.type === op.targetType ? await this.stateOf(this.db, t.type, t.id) : null;
      items.push(
        state === null
          ? { type: t.type, id: t.id, found: false, state: 'absent' }
          : {
              type: t.type,
              id: t.id,
              found: true,
              state,
              eligible: state === op.from,
              ...(state === op.from ? { to: op.to } : { reason: `is ${state}; ${op.mode} needs ${op.from}` }),
            },
      );
    }
    return { status: 200, body: { items } };
  }

  /** apply / undo: one target, exactly once per Idempotency-Key (the key and the effect commit together). */
  private async change(
    name: string,
    op: PlatformOperation,
    kind: 'apply' | 'undo',
    key: string,
    body: Record<string, unknown>,
  ): Promise<Answer & { repeated: boolean; target: string }> {
    const t = targetOf(body.target);
    if (!t)
      return { status: 400, body: { error: 'target: must be {type, id}' }, repeated: false, target: '' };
    if (t.type !== op.targetType)
      return {
        status: 422,
        body: { error: `target.type: ${name} acts on ${op.targetType} targets, not ${t.type}` },
        repeated: false,
        target: t.id,
      };
    if (kind === 'undo' && op.risk !== 'reversible')
      return { status: 404, body: { error: `${name} cannot be undone` }, repeated: false, target: t.id };
    if ((this.faults.failApplyTargets ?? []).includes(t.id))
      return { status: 500, body: { error: 'injected failure' }, repeated: false, target: t.id };
    const from = kind === 'apply' ? op.from : op.to;
    const to = kind === 'apply' ? op.to : op.from;
    const expected = typeof body.expectedState === 'string' ? body.expectedState : from;
    const tenantId = t.type === 'tenant' ? t.id : t.id.split('/')[0];
    const out = await this.db.transaction(async (q) => {
      const at = this.now().toISOString();
      const inserted = await q.run(
        `INSERT INTO platform_idempotency (idempotency_key, endpoint, status, response, repeats, created_at)
         VALUES (?, ?, 0, '', 0, ?) ON CONFLICT (idempotency_key) DO NOTHING`,
        [key, `${name}/${kind}`, at],
      );
      if (inserted === 0) {
        await q.run(`UPDATE platform_idempotency SET repeats = repeats + 1 WHERE idempotency_key = ?`, [key]);
        const [first] = await q.query<{ status: number; response: string }>(
          `SELECT status, response FROM platform_idempotency WHERE idempotency_key = ?`,
          [key],
        );
        return { answer: { status: Number(first.status), body: JSON.parse(first.response) }, repeated: true };
      }
      const current = await this.stateOf(q, t.type, t.id);
      let answer: Answer;
      if (current === null) answer = { status: 404, body: { error: `${t.type} ${t.id} does not exist` } };
      else if (current !== expected || current !== from)
        answer = {
          status: 409,
          body: {
            error: 'state_mismatch',
            state: current,
            expected,
            message: `${t.id} is ${current}, expected ${expected}`,
          },
        };
      else {
        await this.write(q, name, t.type, t.id, to, at);
        answer = { status: 200, body: { state: to, previous: current } };
        this.effects.push({ idempotencyKey: key, kind, operation: name, target: t.id, tenantId, from, to });
      }
      await q.run(`UPDATE platform_idempotency SET status = ?, response = ? WHERE idempotency_key = ?`, [
        answer.status,
        JSON.stringify(answer.body),
        key,
      ]);
      return { answer, repeated: false };
    });
    if (!out.repeated && out.answer.status === 200) {
      if (kind === 'apply' && name === 'deactivate_app') {
        this.deactivations++;
        if (this.deactivations === this.faults.breakAfterNthDeactivation)
          this.broken.set(tenantId, `${t.id}: the site stopped serving pages after ${name} (injected fault)`);
      }
      if (kind === 'undo') this.broken.delete(tenantId);
    }
    return { ...out.answer, repeated: out.repeated, target: t.id };
  }

  private async write(
    q: Queryable,
    name: string,
    type: string,
    id: string,
    to: string,
    at: string,
  ): Promise<void> {
    if (type === 'installation') {
      const slash = id.indexOf('/');
      await q.run(
        `UPDATE app_installations SET status = ?, updated_at = ? WHERE site_id = ? AND app_key = ?`,
        [to, at, id.slice(0, slash), id.slice(slash + 1)],
      );
    } else if (name === 'delete_site') {
      // Children first (foreign keys).
      for (const table of ['site_members', 'site_pages', 'app_installations']) {
        await q.run(`DELETE FROM ${table} WHERE site_id = ?`, [id]);
      }
      await q.run(`DELETE FROM sites WHERE id = ?`, [id]);
    } else {
      await q.run(`UPDATE sites SET status = ?, updated_at = ? WHERE id = ?`, [to, at, id]);
    }
  }

  private async verify(body: Record<string, unknown>): Promise<Answer> {
    const tenantId = typeof body.tenantId === 'string' ? body.tenantId : null;
    if (!tenantId) return { status: 400, body: { error: 'tenantId: required' } };
    if (this.faults.verifyDelayMs) await new Promise((r) => setTimeout(r, this.faults.verifyDelayMs));
    const broken = this.broken.get(tenantId);
    if (broken) return { status: 200, body: { healthy: false, reason: broken } };
    const state = await this.stateOf(this.db, 'tenant', tenantId);
    if (state === null) {
      // A deleted site is the expected outcome of delete_site, not an outage.
      return { status: 200, body: { healthy: true, detail: 'site does not exist' } };
    }
    return { status: 200, body: { healthy: true, detail: `site is ${state}` } };
  }

  // --- HTTP -------------------------------------------------------------------------------------------------------

  app(): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.use(CONTRACT_PREFIX, express.raw({ type: '*/*', limit: '2mb' }));
    app.post(`${CONTRACT_PREFIX}/inventory`, (req, res) => this.handle(req, res, 'inventory'));
    app.post(`${CONTRACT_PREFIX}/verify`, (req, res) => this.handle(req, res, 'verify'));
    app.post(`${CONTRACT_PREFIX}/operations/:operation/:endpoint`, (req, res) => {
      const ep = req.params.endpoint;
      if (ep !== 'state' && ep !== 'apply' && ep !== 'undo') {
        res.status(404).json({ error: `no endpoint ${ep}` });
        return;
      }
      void this.handle(req, res, ep, req.params.operation);
    });
    app.use('/_control', express.json(), (req, res, next) => {
      if (this.options.controlToken && req.header('x-control-token') !== this.options.controlToken) {
        res.status(401).json({ error: 'x-control-token' });
        return;
      }
      next();
    });
    app.get('/_control/calls', (_req, res) => {
      res.json({ items: this.calls });
    });
    app.get('/_control/sites', async (_req, res) => {
      res.json(await this.readAll());
    });
    app.put('/_control/faults', (req, res) => {
      this.faults = (req.body ?? {}) as Faults;
      res.json(this.faults);
    });
    return app;
  }

  private async handle(
    req: Request,
    res: Response,
    endpoint: RecordedCall['endpoint'],
    operation: string | null = null,
  ): Promise<void> {
    const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const key = req.header('idempotency-key') ?? null;
    const base = { endpoint, operation, idempotencyKey: key, targets: [] as string[], repeated: false };
    const reply = (a: Answer, extra: Partial<RecordedCall> = {}) => {
      this.record({ ...base, ...extra, status: a.status });
      res.status(a.status).json(a.body);
    };
    const bad = this.verifySignature(req, raw);
    if (bad) return reply({ status: 401, body: { error: bad } });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw || '{}') as Record<string, unknown>;
    } catch {
      return reply({ status: 400, body: { error: 'body: not JSON' } });
    }
    try {
      if (endpoint === 'inventory') return reply(await this.inventory(body));
      if (endpoint === 'verify')
        return reply(await this.verify(body), { targets: [String(body.tenantId ?? '')] });
      const op = operation ? PLATFORM_OPERATIONS[operation] : undefined;
      if (!op) return reply({ status: 404, body: { error: `no operation ${operation}` } });
      if (endpoint === 'state') {
        const targets = Array.isArray(body.targets) ? body.targets.map((t) => targetOf(t)?.id ?? '?') : [];
        return reply(await this.state(op, body), { targets });
      }
      if (!key) return reply({ status: 400, body: { error: 'Idempotency-Key header: required' } });
      const a = await this.change(operation as string, op, endpoint, key, body);
      if (!a.repeated && a.status === 200 && this.afterApply)
        await this.afterApply(this.effects[this.effects.length - 1]);
      return reply(a, { targets: [a.target], repeated: a.repeated });
    } catch (e) {
      return reply({ status: 500, body: { error: e instanceof Error ? e.message : String(e) } });
    }
  }

  /** Listens on loopback; resolves to the base URL. */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    const server = this.app().listen(port, host);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    this.server = server;
    return `http://${host}:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    await this.db.close();
  }
}

/**
 * The provider definition Wavegate registers for this platform (`POST /api/providers`), with every endpoint under
 * `baseUrl`.
 */
export function providerDefinition(baseUrl: string, secret: string, name = 'refplat') {
  const ep = (op: string, e: string) => `${baseUrl}${CONTRACT_PREFIX}/operations/${op}/${e}`;
  return {
    name,
    description: 'The reference platform (examples/reference-platform)',
    secret,
    inventory: { url: `${baseUrl}${CONTRACT_PREFIX}/inventory` },
    operations: Object.entries(PLATFORM_OPERATIONS).map(([opName, op]) => ({
      name: opName,
      targetType: op.targetType,
      risk: op.risk,
      mode: op.mode,
      description: op.description,
      endpoints: {
        state: ep(opName, 'state'),
        apply: ep(opName, 'apply'),
        ...(op.risk === 'reversible' ? { undo: ep(opName, 'undo') } : {}),
        verify: `${baseUrl}${CONTRACT_PREFIX}/verify`,
      },
    })),
  };
}
