import { CidrSet, parseCidr, parseIPv4, parseIPv6 } from './ip';

describe('IP addresses and CIDR ranges', () => {
  it.each([
    ['127.0.0.1', 0x7f000001],
    ['0.0.0.0', 0],
    ['255.255.255.255', 0xffffffff],
    ['01.2.3.4', -1],
    ['256.0.0.1', -1],
    ['1.2.3', -1],
    ['1.2.3.4.5', -1],
    ['', -1],
  ])('parses IPv4 %j', (text, expected) => expect(parseIPv4(text)).toBe(expected));

  it.each([
    ['::', [0, 0, 0, 0, 0, 0, 0, 0]],
    ['::1', [0, 0, 0, 0, 0, 0, 0, 1]],
    ['2001:db8::1', [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]],
    ['1::', [1, 0, 0, 0, 0, 0, 0, 0]],
    ['::ffff:1.2.3.4', [0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]],
    ['fe80::1%eth0', [0xfe80, 0, 0, 0, 0, 0, 0, 1]],
    ['1:2:3:4:5:6:7:8', [1, 2, 3, 4, 5, 6, 7, 8]],
  ])('parses IPv6 %j', (text, groups) => {
    const out = new Uint16Array(8);
    expect(parseIPv6(text, out)).toBe(true);
    expect([...out]).toEqual(groups);
  });

  it.each(['1:2:3:4:5:6:7:8:9', '1::2::3', '12345::1', ':1', '1:', 'bad::cidr', '1.2.3.4'])(
    'rejects IPv6 %j',
    (text) => expect(parseIPv6(text, new Uint16Array(8))).toBe(false),
  );

  it('rejects out-of-range prefixes', () => {
    expect(parseCidr('1.2.3.4/33')).toBeUndefined();
    expect(parseCidr('2001:db8::/129')).toBeUndefined();
    expect(parseCidr('10.0.0.0/8')).toMatchObject({ family: 4, prefix: 8 });
  });

  it('matches addresses against ranges of their own family, ignoring invalid ranges', () => {
    const set = new CidrSet(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', 'nonsense', '::ffff:0:0/96']);
    expect(set.size).toBe(4);
    expect(set.contains('10.200.3.4')).toBe(true);
    expect(set.contains('11.0.0.1')).toBe(false);
    expect(set.contains('192.168.1.7')).toBe(true);
    expect(set.contains('192.168.1.8')).toBe(false);
    expect(set.contains('2001:db8:0:1::42')).toBe(true);
    expect(set.contains('2001:db9::1')).toBe(false);
    expect(set.contains('::ffff:10.0.0.1')).toBe(true);
    expect(set.contains('not an ip')).toBe(false);
    expect(new CidrSet(['0.0.0.0/0']).contains('8.8.8.8')).toBe(true);
    expect(new CidrSet(['0.0.0.0/0']).contains('::1')).toBe(false);
  });
});
