import { restoreSourceOf, tenantRestore } from './builtin.operations';

describe('tenant.restore params.source (parsed in one place)', () => {
  it('keeps the default plan params empty, so snapshot restores plan exactly as before', () => {
    expect(tenantRestore.parseParams({})).toEqual({});
    expect(restoreSourceOf({})).toEqual({ kind: 'snapshot' });
  });

  it('normalises a point in time to one UTC instant', () => {
    const p = tenantRestore.parseParams({ source: { pointInTime: '2026-12-05T04:14:00+01:00' } });
    expect(p).toEqual({ source: { pointInTime: '2026-12-05T03:14:00.000Z' } });
    expect(restoreSourceOf(p)).toEqual({ kind: 'point_in_time', at: '2026-12-05T03:14:00.000Z' });
  });

  it('takes a backup id', () => {
    const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
    expect(restoreSourceOf(tenantRestore.parseParams({ source: { backupId: id } }))).toEqual({
      kind: 'backup',
      backupId: id,
    });
  });

  it.each([
    [{ source: { pointInTime: 'yesterday' } }, 'params.source.pointInTime'],
    [{ source: { pointInTime: '2026-12-05T03:14:00' } }, 'params.source.pointInTime'],
    [{ source: { backupId: 'latest' } }, 'params.source.backupId'],
    [{ source: { pointInTime: '2026-12-05T03:14:00Z', backupId: 'x' } }, 'params.source'],
    [{ source: 'now' }, 'params.source'],
    [{ when: 'now' }, 'params.when'],
  ])('refuses %j naming %s', (params, field) => {
    try {
      tenantRestore.parseParams(params as Record<string, unknown>);
      throw new Error('accepted');
    } catch (e) {
      expect((e as { details?: { field: string }[] }).details?.[0].field).toBe(field);
    }
  });
});
