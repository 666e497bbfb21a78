import { EVENT_PATTERN_RE, matchesEventType, subscriptionWants } from './event-filter';

describe('webhook event filter', () => {
  it('matches exact names, prefixes and *', () => {
    expect(matchesEventType(['change_request.approved'], 'change_request.approved')).toBe(true);
    expect(matchesEventType(['change_request.approved'], 'change_request.approved_x')).toBe(false);
    expect(matchesEventType(['change_request.*'], 'change_request.wave_completed')).toBe(true);
    expect(matchesEventType(['change_request.*'], 'change_requests.x')).toBe(false);
    expect(matchesEventType(['*'], 'user.created')).toBe(true);
    expect(matchesEventType([], 'user.created')).toBe(false);
  });

  it('accepts only well-formed patterns', () => {
    for (const ok of ['*', 'user.created', 'change_request.*', 'a.b.c'])
      expect(EVENT_PATTERN_RE.test(ok)).toBe(true);
    for (const bad of ['', 'User.Created', 'a.*.b', '*.created', 'a..b', 'a.', 'a b'])
      expect(EVENT_PATTERN_RE.test(bad)).toBe(false);
  });

  const sub = { events: ['change_request.*'], environments: ['production'] };
  it('applies the environment filter to environment-scoped events only', () => {
    expect(
      subscriptionWants(sub, { type: 'change_request.approved', data: { environment: 'production' } }),
    ).toBe(true);
    expect(
      subscriptionWants(sub, { type: 'change_request.approved', data: { environment: 'staging' } }),
    ).toBe(false);
    expect(subscriptionWants(sub, { type: 'change_request.approved', data: {} })).toBe(true);
    expect(
      subscriptionWants(
        { ...sub, environments: null },
        { type: 'change_request.approved', data: { environment: 'x' } },
      ),
    ).toBe(true);
  });

  it('lets halts and break-glass executions through any environment filter, not through the type filter', () => {
    expect(subscriptionWants(sub, { type: 'change_request.halted', data: { environment: 'staging' } })).toBe(
      true,
    );
    expect(
      subscriptionWants(sub, {
        type: 'change_request.started',
        data: { environment: 'staging', breakGlass: true },
      }),
    ).toBe(true);
    const onlyApprovals = { events: ['change_request.approved'], environments: ['production'] };
    expect(subscriptionWants(onlyApprovals, { type: 'change_request.halted', data: {} })).toBe(false);
  });
});
