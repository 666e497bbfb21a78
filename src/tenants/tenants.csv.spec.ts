import { DomainError } from '../common/errors';
import { parseCsv, tenantsFromCsv } from './tenants.csv';
import { validateTenantImport } from './tenant-input.validator';

describe('tenant CSV import', () => {
  it('parses quoted fields, escaped quotes, CRLF and a BOM', () => {
    expect(parseCsv('\ufeffa,"b, c","d ""e"""\r\n1,,3\n\n')).toEqual([
      ['a', 'b, c', 'd "e"'],
      ['1', '', '3'],
    ]);
  });

  it('refuses an unclosed quote', () => {
    expect(() => parseCsv('a,"b\n')).toThrow(DomainError);
  });

  it('maps columns to tenants; apps split on ";", attributes as JSON; rows are file lines', () => {
    const { rows, lines } = tenantsFromCsv(
      'id,name,tier,apps,attributes\nacme,Acme,key,jira; insight,"{""a"":1}"\n',
    );
    expect(rows).toEqual([
      {
        id: 'acme',
        name: 'Acme',
        tier: 'key',
        installations: [{ appKey: 'jira' }, { appKey: 'insight' }],
        attributes: { a: 1 },
      },
    ]);
    expect(lines).toEqual([2]);
  });

  it('names unknown and missing header columns', () => {
    try {
      tenantsFromCsv('id,nom,tier\n');
      throw new Error('accepted');
    } catch (e) {
      expect((e as DomainError).details).toEqual([
        { row: 1, field: 'nom', reason: expect.stringContaining('unknown column') },
        { row: 1, field: 'name', reason: 'required column is missing' },
      ]);
    }
  });

  it('reports every bad row with its file line and field', () => {
    const { rows, lines } = tenantsFromCsv(
      'id,name,tier,apps\nok,Ok,standard,jira\nbad id,,gold,nope\nok,Dup,key,\n',
    );
    const { details } = validateTenantImport(rows, new Set(['jira']), (i) => lines[i]);
    expect(details).toEqual([
      { row: 3, field: 'id', reason: expect.any(String) },
      { row: 3, field: 'name', reason: expect.any(String) },
      { row: 3, field: 'tier', reason: expect.any(String) },
      { row: 3, field: 'installations[0].appKey', reason: expect.stringContaining('no app "nope"') },
      { row: 4, field: 'id', reason: '"ok" is already in row 2' },
    ]);
  });
});
