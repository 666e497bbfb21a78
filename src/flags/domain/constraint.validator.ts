// Pure validation and normalisation of constraints (of a strategy or a segment): the operator is one the shared
// engine evaluates, list operators take `values`, the others one `value` of the operator's kind (number, date,
// semantic version, regular expression). Errors name the field path (`strategies[0].constraints[1].operator`).
import { isIP } from 'node:net';
import { ErrorDetail } from '../../common/errors';
import { Constraint, CONSTRAINT_OPERATORS, ConstraintOperator, fieldList } from './flag.model';
import { CONTEXT_NAME_RE, isObject, refuseUnknownFields } from './validation';

export const MAX_CONSTRAINTS = 100;
export const MAX_VALUES = 10_000;

const SEMVER_RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

const LIST_OPERATORS: ReadonlySet<ConstraintOperator> = new Set([
  'IN',
  'NOT_IN',
  'STR_STARTS_WITH',
  'STR_ENDS_WITH',
  'STR_CONTAINS',
  'IN_CIDR',
]);

const CONSTRAINT_FIELDS = fieldList<Constraint>()([
  'contextName',
  'operator',
  'values',
  'value',
  'inverted',
  'caseInsensitive',
]);

export function semverValid(v: string): boolean {
  return SEMVER_RE.test(v);
}

export function cidrValid(v: string): boolean {
  const [addr, bits, ...rest] = v.split('/');
  if (rest.length > 0) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** Constraints of a strategy or a segment. */
export function validateConstraints(raw: unknown, at: string, errors: ErrorDetail[]): Constraint[] {
  if (!Array.isArray(raw)) {
    errors.push({ field: at, reason: 'must be an array' });
    return [];
  }
  if (raw.length > MAX_CONSTRAINTS)
    errors.push({ field: at, reason: `at most ${MAX_CONSTRAINTS} constraints` });
  return raw.map((c, i) => validateConstraint(c, `${at}[${i}]`, errors));
}

function validateConstraint(raw: unknown, at: string, errors: ErrorDetail[]): Constraint {
  const out: Constraint = { contextName: '', operator: 'IN', values: [] };
  if (!isObject(raw)) {
    errors.push({ field: at, reason: 'must be an object' });
    return out;
  }
  refuseUnknownFields(raw, CONSTRAINT_FIELDS, at, errors);
  if (typeof raw.contextName !== 'string' || !CONTEXT_NAME_RE.test(raw.contextName)) {
    errors.push({
      field: `${at}.contextName`,
      reason: 'must be a context field name (letters, digits, _ . : -)',
    });
  } else out.contextName = raw.contextName;
  const op = raw.operator;
  if (typeof op !== 'string' || !(CONSTRAINT_OPERATORS as readonly string[]).includes(op)) {
    errors.push({
      field: `${at}.operator`,
      reason: `unknown operator; one of ${CONSTRAINT_OPERATORS.join(', ')}`,
    });
    return out;
  }
  out.operator = op as ConstraintOperator;
  for (const flag of ['inverted', 'caseInsensitive'] as const) {
    if (raw[flag] === undefined || raw[flag] === null) continue;
    if (typeof raw[flag] !== 'boolean') errors.push({ field: `${at}.${flag}`, reason: 'must be a boolean' });
    else if (raw[flag]) out[flag] = true;
  }
  if (LIST_OPERATORS.has(out.operator)) {
    delete out.value;
    if (raw.value !== undefined && raw.value !== null && raw.value !== '') {
      errors.push({ field: `${at}.value`, reason: `${op} takes values (a list), not value` });
    }
    const values = raw.values;
    if (!Array.isArray(values) || values.length === 0) {
      errors.push({ field: `${at}.values`, reason: `${op} needs a non-empty list of strings` });
      return out;
    }
    if (values.length > MAX_VALUES)
      errors.push({ field: `${at}.values`, reason: `at most ${MAX_VALUES} values` });
    const list: string[] = [];
    values.forEach((v, j) => {
      if (typeof v !== 'string') errors.push({ field: `${at}.values[${j}]`, reason: 'must be a string' });
      else if (v.length > 1000)
        errors.push({ field: `${at}.values[${j}]`, reason: 'at most 1000 characters' });
      else if (op === 'IN_CIDR' && !cidrValid(v.trim())) {
        errors.push({ field: `${at}.values[${j}]`, reason: 'not an IP address or CIDR range' });
      } else list.push(op === 'IN_CIDR' ? v.trim() : v);
    });
    out.values = list;
    return out;
  }
  delete out.values;
  if (Array.isArray(raw.values) && raw.values.length > 0) {
    errors.push({ field: `${at}.values`, reason: `${op} takes a single value, not values` });
  }
  const value = typeof raw.value === 'number' ? String(raw.value) : raw.value;
  if (typeof value !== 'string' || value.trim() === '') {
    errors.push({ field: `${at}.value`, reason: `${op} needs a value` });
    return out;
  }
  const v = value.trim();
  if (op.startsWith('NUM_') && !(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v) && Number.isFinite(Number(v)))) {
    errors.push({ field: `${at}.value`, reason: 'not a number' });
  } else if (op.startsWith('DATE_') && !(DATE_RE.test(v) && !Number.isNaN(Date.parse(v)))) {
    errors.push({ field: `${at}.value`, reason: 'not an ISO 8601 date-time' });
  } else if (op.startsWith('SEMVER_') && !semverValid(v)) {
    errors.push({ field: `${at}.value`, reason: 'not a semantic version (MAJOR.MINOR.PATCH[-pre][+build])' });
  } else if (op === 'REGEX') {
    try {
      new RegExp(v);
    } catch {
      errors.push({ field: `${at}.value`, reason: 'not a valid regular expression' });
    }
  }
  out.value = op === 'REGEX' ? value : v;
  return out;
}
