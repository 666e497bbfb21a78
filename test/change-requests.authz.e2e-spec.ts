import { bearer, startTestApp, TestApp } from './support/test-app';
import {
  apiToken,
  approveCr,
  createActors,
  createApps,
  createCr,
  crBody,
  importTenants,
  installations,
  submitCr,
} from './support/factories';

// The authorization matrix: every change-request route (and the policies it uses) x every kind of caller.
// The table is the specification; any drift between it and the app fails this test.
type Caller = 'none' | 'viewer' | 'maker' | 'checker' | 'admin' | 'client' | 'automation';
const CALLERS: Caller[] = ['none', 'viewer', 'maker', 'checker', 'admin', 'client', 'automation'];
type State = 'none' | 'draft' | 'pending' | 'approved';

interface Route {
  name: string;
  /** The state of a fresh CR (written by another maker) the call is made on. */
  state: State;
  call: (
    t: TestApp,
    cr: { id: string; planHash: string } | null,
    target: { type: string; id: string }[],
  ) => { method: 'get' | 'post' | 'patch' | 'put'; path: string; body?: object };
  expect: Record<Caller, number>;
}

const ROUTES: Route[] = [
  {
    name: 'POST /api/change-requests',
    state: 'none',
    call: (_t, _cr, targets) => ({ method: 'post', path: '/api/change-requests', body: crBody({ targets }) }),
    expect: { none: 401, viewer: 403, maker: 201, checker: 403, admin: 201, client: 403, automation: 201 },
  },
  {
    name: 'GET /api/change-requests',
    state: 'none',
    call: () => ({ method: 'get', path: '/api/change-requests?awaiting=me' }),
    expect: { none: 401, viewer: 200, maker: 200, checker: 200, admin: 200, client: 403, automation: 200 },
  },
  {
    name: 'GET /api/change-requests/:id',
    state: 'draft',
    call: (_t, cr) => ({ method: 'get', path: `/api/change-requests/${cr!.id}` }),
    expect: { none: 401, viewer: 200, maker: 200, checker: 200, admin: 200, client: 403, automation: 200 },
  },
  {
    name: 'PATCH /api/change-requests/:id',
    state: 'draft',
    call: (_t, cr) => ({
      method: 'patch',
      path: `/api/change-requests/${cr!.id}`,
      body: { title: 'edited' },
    }),
    expect: { none: 401, viewer: 403, maker: 200, checker: 403, admin: 200, client: 403, automation: 200 },
  },
  {
    name: 'POST /api/change-requests/:id/submit',
    state: 'draft',
    call: (_t, cr) => ({ method: 'post', path: `/api/change-requests/${cr!.id}/submit` }),
    expect: { none: 401, viewer: 403, maker: 200, checker: 403, admin: 200, client: 403, automation: 200 },
  },
  {
    name: 'POST /api/change-requests/:id/approve',
    state: 'pending',
    call: (_t, cr) => ({
      method: 'post',
      path: `/api/change-requests/${cr!.id}/approve`,
      body: { planHash: cr!.planHash },
    }),
    // admin here holds only the admin role: approving needs the checker role.
    expect: { none: 401, viewer: 403, maker: 403, checker: 200, admin: 403, client: 403, automation: 403 },
  },
  {
    name: 'POST /api/change-requests/:id/reject',
    state: 'pending',
    call: (_t, cr) => ({
      method: 'post',
      path: `/api/change-requests/${cr!.id}/reject`,
      body: { comment: 'no' },
    }),
    expect: { none: 401, viewer: 403, maker: 403, checker: 200, admin: 403, client: 403, automation: 403 },
  },
  {
    name: 'POST /api/change-requests/:id/cancel',
    state: 'draft',
    call: (_t, cr) => ({ method: 'post', path: `/api/change-requests/${cr!.id}/cancel` }),
    // Only the author (tested in the lifecycle suite) or an admin; the caller here is never the author.
    expect: { none: 401, viewer: 403, maker: 403, checker: 403, admin: 200, client: 403, automation: 403 },
  },
  {
    name: 'POST /api/change-requests/:id/execute',
    state: 'approved',
    call: (_t, cr) => ({ method: 'post', path: `/api/change-requests/${cr!.id}/execute` }),
    expect: { none: 401, viewer: 403, maker: 200, checker: 200, admin: 200, client: 403, automation: 403 },
  },
  {
    name: 'GET /api/policies',
    state: 'none',
    call: () => ({ method: 'get', path: '/api/policies' }),
    expect: { none: 401, viewer: 403, maker: 403, checker: 403, admin: 200, client: 403, automation: 403 },
  },
  {
    name: 'PUT /api/policies',
    state: 'none',
    call: () => ({ method: 'put', path: '/api/policies', body: {} }),
    expect: { none: 401, viewer: 403, maker: 403, checker: 403, admin: 200, client: 403, automation: 403 },
  },
];

describe('change requests: authorization matrix', () => {
  let t: TestApp;
  let tokens: Record<Caller, string | null>;
  let owner: string;
  let checker: string;
  let ids: string[];
  let next = 0;

  beforeAll(async () => {
    t = await startTestApp();
    const a = await createActors(t);
    owner = a.maker2.token;
    checker = a.checker2.token;
    tokens = {
      none: null,
      viewer: a.viewer.token,
      maker: a.maker.token,
      checker: a.checker1.token,
      admin: a.admin.token,
      client: await apiToken(t, 'client'),
      automation: await apiToken(t, 'automation'),
    };
    await createApps(t);
    ids = await importTenants(t, 200);
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers every route x caller as the table says', async () => {
    const actual: Record<string, Record<Caller, number>> = {};
    const expected: Record<string, Record<Caller, number>> = {};
    for (const route of ROUTES) {
      expected[route.name] = route.expect;
      actual[route.name] = {} as Record<Caller, number>;
      for (const caller of CALLERS) {
        // A fresh CR, on a fresh target, for every cell: no cell depends on another.
        const targets = installations([ids[next++]], 'insight');
        let cr: { id: string; planHash: string } | null = null;
        if (route.state !== 'none') {
          cr = await createCr(t, owner, crBody({ targets }));
          if (route.state !== 'draft') cr = await submitCr(t, owner, cr.id);
          if (route.state === 'approved') cr = await approveCr(t, checker, cr);
        }
        const { method, path, body } = route.call(t, cr, installations([ids[next++]], 'insight'));
        let req = t.http()[method](path);
        const token = tokens[caller];
        if (token) req = req.set(bearer(token));
        const res = body ? await req.send(body) : await req;
        actual[route.name][caller] = res.status;
      }
    }
    expect(actual).toEqual(expected);
  });
});
