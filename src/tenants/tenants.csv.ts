// CSV import of tenants: RFC 4180 (quoted fields, "" escapes, CRLF or LF), a header row naming the columns.
//   id,name,tier,region,apps,attributes
//   acme,Acme Corp,key,eu,jira;confluence;insight,"{""plan"":""enterprise""}"
// `apps` lists app keys separated by `;` (installations with empty data); `attributes` is a JSON object.
// Row numbers in errors are file lines as a spreadsheet shows them: the header is row 1.
import { badRequest, ErrorDetail, unprocessable } from '../common/errors';

export const CSV_COLUMNS = ['id', 'name', 'tier', 'region', 'apps', 'attributes'] as const;

export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  while (i < s.length) {
    const c = s[i];
    if (quoted) {
      if (c === '"') {
        if (s[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += c;
      }
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      if (c === '\r' && s[i + 1] === '\n') i++;
    } else field += c;
    i++;
  }
  if (quoted)
    throw badRequest('TENANT.CSV_MALFORMED', 'body: a quoted CSV field is not closed', [
      { field: 'body', reason: 'unclosed quote' },
    ]);
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  // Blank lines carry no tenant.
  return rows.filter((r) => !(r.length === 1 && r[0].trim() === ''));
}

/** Turns CSV text into tenant objects for validateTenantImport, plus the file row of each. */
export function tenantsFromCsv(text: string): { rows: Record<string, unknown>[]; lines: number[] } {
  const table = parseCsv(text);
  if (table.length === 0) {
    throw unprocessable('TENANT.CSV_EMPTY', 'body: the CSV has no header row', [
      { field: 'body', reason: 'empty' },
    ]);
  }
  const header = table[0].map((h) => h.trim());
  const details: ErrorDetail[] = [];
  header.forEach((h, i) => {
    if (!(CSV_COLUMNS as readonly string[]).includes(h)) {
      details.push({
        row: 1,
        field: h || `column ${i + 1}`,
        reason: `unknown column; expected ${CSV_COLUMNS.join(', ')}`,
      });
    }
  });
  for (const required of ['id', 'name', 'tier']) {
    if (!header.includes(required))
      details.push({ row: 1, field: required, reason: 'required column is missing' });
  }
  if (details.length > 0)
    throw unprocessable('TENANT.IMPORT_INVALID', 'The CSV header is not valid', details);
  const rows: Record<string, unknown>[] = [];
  const lines: number[] = [];
  table.slice(1).forEach((cells, i) => {
    const line = i + 2;
    const obj: Record<string, unknown> = {};
    header.forEach((h, c) => {
      const v = (cells[c] ?? '').trim();
      if (v === '') return;
      if (h === 'apps') {
        obj.installations = v
          .split(';')
          .map((a) => a.trim())
          .filter(Boolean)
          .map((appKey) => ({ appKey }));
      } else if (h === 'attributes') {
        try {
          obj.attributes = JSON.parse(v) as unknown;
        } catch {
          obj.attributes = v; // reported by the validator as "must be a JSON object"
        }
      } else obj[h] = v;
    });
    if (cells.length > header.length) obj[`column ${header.length + 1}`] = 'extra';
    rows.push(obj);
    lines.push(line);
  });
  return { rows, lines };
}
