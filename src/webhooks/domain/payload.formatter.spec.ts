import { formatBody, jsonPayload, SlackPayload, slackPayload, WebhookEvent } from './payload.formatter';

const event = (type: string, data: Record<string, unknown>): WebhookEvent => ({
  id: '6f1c1e4e-0000-4000-8000-000000000001',
  type,
  entityType: 'change_request',
  entityId: 'cr-42',
  actor: 'user:u1',
  occurredAt: new Date('2026-01-01T10:00:00Z'),
  data,
});

const flat = (p: SlackPayload) => JSON.stringify(p);

describe('webhook payloads', () => {
  it('json is {id, type, occurredAt, data} plus the entity and actor', () => {
    expect(jsonPayload(event('change_request.approved', { a: 1 }))).toEqual({
      id: '6f1c1e4e-0000-4000-8000-000000000001',
      type: 'change_request.approved',
      occurredAt: '2026-01-01T10:00:00.000Z',
      entityType: 'change_request',
      entityId: 'cr-42',
      actor: 'user:u1',
      data: { a: 1 },
    });
  });

  it('slack: header with the operation in words, fields, and a button to the CR page', () => {
    const p = slackPayload(
      event('change_request.submitted', {
        changeRequestId: 'cr-42',
        title: 'Retire <legacy> app',
        operation: 'tenant.purge',
        status: 'pending',
        author: { name: 'Alice', email: 'alice@x' },
        targetCount: 12,
        shareOfTenants: 0.034,
        irreversible: true,
      }),
      'https://wavegate.example/',
    );
    expect(p.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: '⏳ Approval needed: Permanently purge tenants', emoji: true },
    });
    const s = flat(p);
    expect(s).toContain('Retire &lt;legacy&gt; app');
    expect(s).toContain('*Author*\\nAlice');
    expect(s).toContain('12 targets · 3.4 % of tenants');
    expect(s).toContain('No — irreversible');
    expect(s).toContain('*Status*\\npending');
    const actions = p.blocks.find((b) => b.type === 'actions');
    expect(actions).toMatchObject({
      elements: [
        {
          type: 'button',
          url: 'https://wavegate.example/ui/change-requests/cr-42',
          text: { text: 'Review and approve' },
        },
      ],
    });
    expect(p.text).toMatch(
      /^Approval needed: Permanently purge tenants — "Retire &lt;legacy&gt; app" · by Alice · 12 targets · IRREVERSIBLE · <https:\/\/wavegate\.example\/ui\/change-requests\/cr-42\|Open>$/,
    );
  });

  it('tolerates an event with no data at all (falls back to the entity id)', () => {
    const p = slackPayload(event('change_request.halted', {}), 'http://h');
    expect(p.blocks[0]).toMatchObject({ text: { text: '🛑 Rollout halted: Change request' } });
    expect(flat(p)).toContain('http://h/ui/change-requests/cr-42');
    expect(flat(p)).toContain('*Author*\\n—');
  });

  it('names waves one-based and flags break-glass executions', () => {
    const w = slackPayload(
      event('change_request.wave_completed', {
        wave: { index: 1, size: 2 },
        waveCount: 4,
        operation: 'flag.update',
      }),
      'http://h',
    );
    expect(w.blocks[0]).toMatchObject({ text: { text: '🌊 Wave 2 of 4 completed: Update a feature flag' } });
    const b = slackPayload(
      event('change_request.started', {
        breakGlass: { by: 'user:a', incidentRef: 'INC-7' },
        operation: 'installation.deactivate',
      }),
      'http://h',
    );
    expect(b.blocks[0]).toMatchObject({
      text: { text: '🚨 Break-glass execution: Deactivate app installations' },
    });
    expect(flat(b)).toContain('incident INC-7');
    expect(flat(b)).toContain('must be reviewed');
    expect(b.text).toContain('BREAK-GLASS');
  });

  it('announces the review after the fact of a break-glass execution with its outcome and note', () => {
    const r = slackPayload(
      event('change_request.break_glass_reviewed', {
        breakGlass: { by: 'user:a', incidentRef: 'INC-7' },
        review: { by: 'user:b', outcome: 'concerns' },
        reason: 'No customer impact justified skipping approval',
        operation: 'installation.deactivate',
      }),
      'http://h',
    );
    expect(r.blocks[0]).toMatchObject({
      text: { text: '⚠️ Break-glass reviewed with concerns: Deactivate app installations' },
    });
    expect(flat(r)).toContain('reviewed by user:b: *concerns*');
    expect(flat(r)).toContain('No customer impact justified skipping approval');
    expect(flat(r)).not.toContain('must be reviewed');
    const ok = slackPayload(
      event('change_request.break_glass_reviewed', {
        breakGlass: { by: 'user:a', incidentRef: 'INC-7' },
        review: { by: 'user:b', outcome: 'accepted' },
      }),
      'http://h',
    );
    expect(ok.blocks[0]).toMatchObject({
      text: { text: '✅ Break-glass reviewed and accepted: Change request' },
    });
  });

  it('formats any other event generically', () => {
    const body = JSON.parse(
      formatBody(
        'slack',
        { ...event('user.created', { roles: ['admin'] }), entityType: 'user', entityId: 'u9' },
        'http://h',
      ),
    ) as SlackPayload;
    expect(body.text).toBe('Wavegate: user.created — `user` u9 by user:u1');
    expect(body.blocks[0]).toMatchObject({ type: 'header' });
  });
});
