import {
  APPROVE_ACTION,
  buttonValue,
  linkCodeHash,
  newLinkCode,
  normalizeLinkCode,
  parseInteraction,
  parseSlashCommand,
  REJECT_ACTION,
  REJECT_REASON_ACTION,
  REJECT_REASON_BLOCK,
} from './slack-interaction';

const CR = '3f2b8c4e-1d2a-4b5c-9e8f-0a1b2c3d4e5f';
const HASH = 'ab'.repeat(32);
const form = (payload: unknown) => new URLSearchParams({ payload: JSON.stringify(payload) });

describe('Slack interaction parsing', () => {
  it('reads an Approve press: who, which CR, which plan', () => {
    const parsed = parseInteraction(
      form({
        type: 'block_actions',
        user: { id: 'U123', team_id: 'T9', username: 'carol' },
        team: { id: 'T9', domain: 'acme' },
        actions: [{ action_id: APPROVE_ACTION, value: buttonValue({ id: CR, planHash: HASH }) }],
        response_url: 'https://hooks.slack.com/actions/T9/1/x',
      }),
    );
    expect(parsed).toEqual({
      kind: 'button',
      action: {
        teamId: 'T9',
        userId: 'U123',
        teamDomain: 'acme',
        userName: 'carol',
        action: 'approve',
        value: { id: CR, planHash: HASH },
        reason: '',
        responseUrl: 'https://hooks.slack.com/actions/T9/1/x',
      },
    });
  });

  it('reads the reason typed in the message for Reject', () => {
    const parsed = parseInteraction(
      form({
        type: 'block_actions',
        user: { id: 'U123', team_id: 'T9' },
        actions: [{ action_id: REJECT_ACTION, value: buttonValue({ id: CR, planHash: HASH }) }],
        state: {
          values: { [REJECT_REASON_BLOCK]: { [REJECT_REASON_ACTION]: { value: '  wrong app ids ' } } },
        },
      }),
    );
    expect(parsed.kind === 'button' && parsed.action).toMatchObject({
      action: 'reject',
      reason: 'wrong app ids',
    });
  });

  it('ignores what is not a Wavegate button, with a reason', () => {
    expect(parseInteraction(new URLSearchParams({ payload: 'nope' }))).toMatchObject({ kind: 'ignored' });
    expect(
      parseInteraction(form({ type: 'view_submission', user: { id: 'U1', team_id: 'T1' } })),
    ).toMatchObject({
      kind: 'ignored',
    });
    expect(
      parseInteraction(
        form({
          type: 'block_actions',
          user: { id: 'U1', team_id: 'T1' },
          actions: [{ action_id: APPROVE_ACTION, value: JSON.stringify({ id: CR, planHash: 'short' }) }],
        }),
      ),
    ).toEqual({ kind: 'ignored', reason: 'the button carries no change request and plan hash' });
    expect(parseInteraction(form({ type: 'block_actions', user: { id: 'U1' }, actions: [] }))).toMatchObject({
      kind: 'ignored',
      reason: 'the payload names no Slack team and user',
    });
  });

  it('reads a slash command', () => {
    const c = parseSlashCommand(
      new URLSearchParams({ team_id: 'T9', user_id: 'U1', user_name: 'dan', text: ' link  ABCD-EFGH ' }),
    );
    expect(c).toMatchObject({
      teamId: 'T9',
      userId: 'U1',
      userName: 'dan',
      verb: 'link',
      argument: 'ABCD-EFGH',
    });
    expect(parseSlashCommand(new URLSearchParams({ text: 'link x' }))).toBeNull();
  });
});

describe('link codes', () => {
  it('are 16 base32 characters in four groups, random, and read back however they are typed', () => {
    const a = newLinkCode();
    expect(a).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    expect(newLinkCode()).not.toBe(a);
    expect(normalizeLinkCode(a.toLowerCase().replace(/-/g, ' '))).toBe(a);
    expect(normalizeLinkCode('0000-1111-2222-333O')).toBe('0000-1111-2222-3330');
    expect(normalizeLinkCode('too-short')).toBeNull();
    expect(linkCodeHash(a)).toMatch(/^[0-9a-f]{64}$/);
  });
});
