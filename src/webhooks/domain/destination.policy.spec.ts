import {
  DEFAULT_ALLOWLIST,
  DestinationPolicy,
  normalizeAddress,
  parseNetwork,
  specialRange,
} from './destination.policy';

describe('webhook destination policy', () => {
  it('classifies special-purpose addresses, including IPv4 in IPv6 clothing', () => {
    expect(specialRange('127.0.0.1')).toBe('loopback');
    expect(specialRange('10.1.2.3')).toBe('private');
    expect(specialRange('172.31.255.255')).toBe('private');
    expect(specialRange('192.168.1.1')).toBe('private');
    expect(specialRange('169.254.169.254')).toBe('link-local');
    expect(specialRange('100.100.1.1')).toBe('shared (CGNAT)');
    expect(specialRange('0.0.0.0')).toBe('this-network');
    expect(specialRange('::1')).toBe('loopback');
    expect(specialRange('fd12::1')).toBe('unique-local');
    expect(specialRange('fe80::1')).toBe('link-local');
    expect(specialRange('::ffff:127.0.0.1')).toBe('loopback');
    expect(specialRange('::ffff:a00:1')).toBe('private');
    expect(normalizeAddress('[::ffff:7f00:1]')).toEqual({ address: '127.0.0.1', family: 'ipv4' });
    expect(specialRange('8.8.8.8')).toBeNull();
    expect(specialRange('2606:4700::1111')).toBeNull();
    expect(specialRange('172.32.0.1')).toBeNull();
  });

  it('by default denies internal addresses and allows public ones', () => {
    const p = new DestinationPolicy(DEFAULT_ALLOWLIST);
    expect(p.check('hooks.slack.com', ['34.1.2.3'])).toEqual({ allowed: true });
    expect(p.check('127.0.0.1', ['127.0.0.1'])).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/loopback/),
    });
    // DNS rebinding: a public name whose answer is internal is refused, naming both.
    expect(p.check('evil.example', ['34.1.2.3', '10.0.0.5'])).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/10\.0\.0\.5 is a private address.*evil\.example resolves to it/),
    });
    expect(p.check('nothing.example', [])).toMatchObject({ allowed: false });
  });

  it('allows listed networks and hosts, and can refuse everything else', () => {
    const p = new DestinationPolicy({
      hosts: ['*.corp.example', 'chat.example'],
      networks: ['127.0.0.1/32', 'fd00::/8'],
      allowPublic: false,
    });
    expect(p.check('127.0.0.1', ['127.0.0.1'])).toEqual({ allowed: true });
    expect(p.check('localhost', ['::ffff:127.0.0.1'])).toEqual({ allowed: true });
    expect(p.check('127.0.0.2', ['127.0.0.2'])).toMatchObject({ allowed: false });
    expect(p.check('x', ['fd00::5'])).toEqual({ allowed: true });
    expect(p.check('mattermost.corp.example', ['10.9.9.9'])).toEqual({ allowed: true });
    expect(p.check('corp.example', ['10.9.9.9'])).toMatchObject({ allowed: false });
    expect(p.check('CHAT.example.', ['10.9.9.9'])).toEqual({ allowed: true });
    expect(p.check('hooks.slack.com', ['34.1.2.3'])).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/public hosts/),
    });
  });

  it('parses networks strictly', () => {
    expect(parseNetwork('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseNetwork('::1')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' });
    for (const bad of ['10.0.0.0/33', '10.0.0/8', 'example.com/8', '1.2.3.4/8/1', '1.2.3.4/x'])
      expect(parseNetwork(bad)).toBeNull();
  });
});
