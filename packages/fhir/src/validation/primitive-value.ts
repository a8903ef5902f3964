/**
 * One primitive value against its type: JSON form (json.html#primitive), the type's regex
 * (datatypes.html#primitive) and the rules a regex cannot say.
 */
import type { PrimitiveRule } from '../definitions/element-schema.ts';
import { describeJson, type IssueList } from './structure-issues.ts';

/** datatypes.html#string: "strings SHALL NOT exceed 1MB (1024*1024 characters) in size". */
const MAX_STRING_LENGTH = 1024 * 1024;
/** datatypes.html#integer: a signed 32-bit integer. */
const INTEGER_RANGE = { min: -2_147_483_648, max: 2_147_483_647 } as const;
/** Types exempt from the 1 MB limit: not specialisations of string in R4. */
const UNBOUNDED_STRING_TYPES: ReadonlySet<string> = new Set(['base64Binary', 'xhtml']);
const INTEGER_TYPES: ReadonlySet<string> = new Set(['integer', 'positiveInt', 'unsignedInt']);
const CALENDAR_TYPES: ReadonlySet<string> = new Set(['date', 'dateTime', 'instant']);
const CALENDAR_DATE = /^(\d{4})-(\d{2})-(\d{2})/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** datatypes.html#date: "Dates SHALL be valid dates" — the regex allows 2023-02-31. */
function isCalendarDate(lexical: string): boolean {
  const match = CALENDAR_DATE.exec(lexical);
  if (match === null) return true;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  const days = month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  return day <= days;
}

function checkNumber(value: number, rule: PrimitiveRule, expression: string, issues: IssueList): void {
  if (!Number.isFinite(value)) {
    issues.add('value', expression, `${value} is not a valid ${rule.type}`);
  } else if (INTEGER_TYPES.has(rule.type) && (value < INTEGER_RANGE.min || value > INTEGER_RANGE.max)) {
    issues.add('value', expression, `${value} is outside the 32-bit range of ${rule.type}`);
  } else if (!rule.matches(String(value))) {
    issues.add('value', expression, `${value} is not a valid ${rule.type}`);
  }
}

function checkString(value: string, rule: PrimitiveRule, expression: string, issues: IssueList): void {
  if (value.length === 0) {
    issues.add(
      'value',
      expression,
      `An empty string is not a valid ${rule.type} (json.html: omit the property instead)`,
    );
  } else if (value.length > MAX_STRING_LENGTH && !UNBOUNDED_STRING_TYPES.has(rule.type)) {
    issues.add('value', expression, `A ${rule.type} must not exceed 1 MB (${value.length} characters)`);
  } else if (!rule.matches(value) || (CALENDAR_TYPES.has(rule.type) && !isCalendarDate(value))) {
    issues.add('value', expression, `${describeJson(value)} is not a valid ${rule.type}`);
  }
}

export function checkPrimitiveValue(
  value: unknown,
  rule: PrimitiveRule,
  expression: string,
  issues: IssueList,
): void {
  if (typeof value !== rule.json) {
    issues.add(
      'structure',
      expression,
      `A ${rule.type} must be a JSON ${rule.json}, not ${describeJson(value)}`,
    );
  } else if (typeof value === 'number') {
    checkNumber(value, rule, expression, issues);
  } else if (typeof value === 'string') {
    checkString(value, rule, expression, issues);
  }
}
