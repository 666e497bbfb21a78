import { formatBody, jsonPayload, slackPayload } from './payload.formatter';
import { SlackPayload, WebhookEvent } from './payload.types';

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
        people: { actor: { id: 'user:u1', name: 'Alice', email: 'alice@x' } },
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

  describe('people by name and approval buttons (issue 15)', () => {
    const CR = '3f2b8c4e-1d2a-4b5c-9e8f-0a1b2c3d4e5f';
    const HASH = 'c0ffee'.repeat(10) + 'abcd';
    const person = (id: string, name: string) => ({ id: `user:${id}`, name, email: `${id}@x` });
    const pending = (type: string, extra: Record<string, unknown> = {}): WebhookEvent => ({
      ...event(type, {
        id: CR,
        title: 'Retire insight',
        operation: 'installation.deactivate',
        status: 'pending',
        revision: 3,
        planHash: HASH,
        requiredApprovals: 2,
        approvalCount: 1,
        author: 'user:a',
        people: {
          actor: person('c', 'Carol Checker'),
          author: person('a', 'Alice Author'),
          approvers: [person('c', 'Carol Checker')],
        },
        ...extra,
      }),
      entityId: CR,
    });

    it('names the actor, the author and the approvers, and shows the plan hash and revision', () => {
      const p = slackPayload(pending('change_request.approval_added'), 'http://h');
      const s = flat(p);
      expect(s).toContain('By *Carol Checker*');
      expect(s).toContain('*Author*\\nAlice Author');
      expect(s).toContain('*Approvals*\\n1 of 2: Carol Checker');
      expect(s).toContain('*Plan*\\n`c0ffeec0ffee` · revision 3');
      expect(p.text).toContain('by Carol Checker · author Alice Author');
      expect(s).not.toContain('wavegate_approve');
    });

    it('carries Approve and Reject buttons bound to the shown plan hash only when asked and only while pending', () => {
      const p = slackPayload(pending('change_request.submitted'), 'http://h', { approvalButtons: true });
      const actions = p.blocks.find((b) => b.type === 'actions') as { elements: Record<string, unknown>[] };
      expect(actions.elements.map((e) => e.action_id)).toEqual([
        'wavegate_approve',
        'wavegate_reject',
        'open_change_request',
      ]);
      expect(JSON.parse(actions.elements[0].value as string)).toEqual({ id: CR, planHash: HASH });
      expect(actions.elements[1].value).toBe(actions.elements[0].value);
      expect(JSON.stringify(actions.elements[0].confirm)).toContain('c0ffeec0ffee');
      expect(p.blocks.find((b) => b.type === 'input')).toMatchObject({ block_id: 'wavegate_reject_reason' });
      const approved = slackPayload(pending('change_request.approved', { status: 'approved' }), 'http://h', {
        approvalButtons: true,
      });
      expect(flat(approved)).not.toContain('wavegate_approve');
      expect(approved.blocks.some((b) => b.type === 'input')).toBe(false);
    });

    it('gives a comment its own headline, with the commenter and the people mentioned', () => {
      const p = slackPayload(
        pending('change_request.commented', {
          comment: '@Dan can you check wave 2?',
          commentBy: 'user:c',
          mentions: ['user:d'],
          people: { actor: person('c', 'Carol Checker'), mentions: [person('d', 'Dan Checker')] },
        }),
        'http://h',
        { approvalButtons: true },
      );
      expect(p.blocks[0]).toMatchObject({ text: { text: '💬 New comment: Deactivate app installations' } });
      const s = flat(p);
      expect(s).toContain('*Carol Checker* commented, mentioning *Dan Checker*:');
      expect(s).toContain('> @Dan can you check wave 2?');
      expect(s).not.toContain('*Approvals*');
      expect(s).not.toContain('wavegate_approve');
      expect(p.text).toMatch(
        /^New comment: Deactivate app installations — "Retire insight" · by Carol Checker/,
      );
    });
  });
});
