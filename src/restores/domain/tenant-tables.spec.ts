import {
  canonicalTimestamp,
  columnKind,
  diffTable,
  normalizeValue,
  rowsHash,
  TableShape,
  unwritable,
} from './tenant-tables';

const installations: TableShape = {
  table: 'installations',
  tenantColumn: 'tenant_id',
  primaryKey: ['tenant_id', 'app_key'],
  columns: {
    tenant_id: { kind: 'text', nullable: false, hasDefault: false },
    app_key: { kind: 'text', nullable: false, hasDefault: false },
    status: { kind: 'text', nullable: false, hasDefault: false },
    data: { kind: 'text', nullable: false, hasDefault: false },
    deactivated_at: { kind: 'timestamp', nullable: true, hasDefault: false },
    updated_at: { kind: 'timestamp', nullable: false, hasDefault: false },
  },
};

const row = (app: string, extra: Record<string, unknown> = {}) => ({
  tenant_id: 'acme',
  app_key: app,
  status: 'active',
  data: '{"a":1}',
  deactivated_at: null,
  updated_at: '2026-12-05 08:00:00.123',
  ...extra,
});

describe('canonicalTimestamp', () => {
  it('reads SQLite text, PostgreSQL text with any offset, ISO and Date as the same instant', () => {
    const want = '2026-12-05T08:00:00.123000Z';
    expect(canonicalTimestamp('2026-12-05 08:00:00.123')).toBe(want);
    expect(canonicalTimestamp('2026-12-05 08:00:00.123+00')).toBe(want);
    expect(canonicalTimestamp('2026-12-05T09:00:00.123+01:00')).toBe(want);
    expect(canonicalTimestamp('2026-12-05T02:30:00.123-05:30')).toBe(want);
    expect(canonicalTimestamp('2026-12-05T08:00:00.123Z')).toBe(want);
    expect(canonicalTimestamp(new Date(want))).toBe(want);
  });

  it('keeps microseconds and pads missing fractions', () => {
    expect(canonicalTimestamp('2026-12-05 08:00:00.123456+00')).toBe('2026-12-05T08:00:00.123456Z');
    expect(canonicalTimestamp('2026-12-05 08:00:00')).toBe('2026-12-05T08:00:00.000000Z');
  });

  it('refuses what is not a timestamp', () => {
    expect(() => canonicalTimestamp('yesterday')).toThrow('not a timestamp');
    expect(() => canonicalTimestamp(42)).toThrow('not a timestamp');
  });
});

describe('normalizeValue and columnKind', () => {
  it('maps both dialects’ column types', () => {
    expect(columnKind('datetime')).toBe('timestamp');
    expect(columnKind('timestamp with time zone')).toBe('timestamp');
    expect(columnKind('boolean')).toBe('boolean');
    expect(columnKind('integer')).toBe('number');
    expect(columnKind('character varying')).toBe('text');
    expect(columnKind('text')).toBe('text');
  });

  it('treats SQLite 0/1 and PostgreSQL booleans alike, keeps null as null', () => {
    expect(normalizeValue('boolean', 1)).toBe(true);
    expect(normalizeValue('boolean', false)).toBe(false);
    expect(normalizeValue('text', null)).toBeNull();
    expect(normalizeValue('timestamp', undefined)).toBeNull();
    expect(normalizeValue('number', '12')).toBe(12);
  });
});

describe('diffTable', () => {
  it('sorts rows into restored (absent now), overwritten (different now), removed (absent then), unchanged', () => {
    const then = [row('jira'), row('insight', { data: '{"a":2}' }), row('confluence')];
    const now = [
      row('insight'),
      row('confluence', { updated_at: '2026-12-05T08:00:00.123+00:00' }),
      row('slack'),
    ];
    const d = diffTable(installations, then, now);
    expect(d.restore.map((r) => r.app_key)).toEqual(['jira']);
    expect(d.overwrite.map((r) => r.app_key)).toEqual(['insight']);
    expect(d.remove.map((r) => r.app_key)).toEqual(['slack']);
    // Same instant written differently is not a change.
    expect(d.unchanged).toBe(1);
  });

  it('sees a null that became a value as a change', () => {
    const d = diffTable(
      installations,
      [row('jira')],
      [row('jira', { deactivated_at: '2026-12-05 09:00:00' })],
    );
    expect(d.overwrite).toHaveLength(1);
  });
});

describe('rowsHash', () => {
  it('does not depend on row order or on how a timestamp is written, and changes with any value', () => {
    const a = { installations: [row('jira'), row('insight')] };
    const b = {
      installations: [row('insight'), row('jira', { updated_at: '2026-12-05T08:00:00.123000Z' })],
    };
    expect(rowsHash([installations], a)).toBe(rowsHash([installations], b));
    const c = { installations: [row('insight'), row('jira', { data: '{"a":3}' })] };
    expect(rowsHash([installations], c)).not.toBe(rowsHash([installations], a));
  });
});

describe('unwritable', () => {
  it('names a column the live table lost, a required column the moment lacks, and another tenant’s row', () => {
    expect(unwritable(installations, 'acme', [row('jira')])).toBeNull();
    expect(unwritable(installations, 'acme', [row('jira', { legacy_flag: 1 })])).toContain(
      'installations.legacy_flag',
    );
    const { data: _data, ...noData } = row('jira');
    expect(unwritable(installations, 'acme', [noData])).toContain('installations.data is required');
    expect(unwritable(installations, 'acme', [row('jira', { tenant_id: 'other' })])).toContain(
      'belongs to other',
    );
  });
});
