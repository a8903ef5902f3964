import { describe, expect, it } from 'vitest';
import { parseInt8, parseTimestamptz } from '../../src/store/parse-values.ts';
import { identifier, joinSql, sql } from '../../src/store/sql.ts';

describe('sql tag', () => {
  it('turns every interpolated value into a numbered parameter', () => {
    const name = "O'Brien; drop table resource";
    expect(sql`select id from resource where id = ${name} and version_id > ${2}`.toQuery()).toEqual({
      text: 'select id from resource where id = $1 and version_id > $2',
      values: [name, 2],
    });
  });

  it('renumbers nested and joined fragments', () => {
    const conditions = joinSql([sql`a = ${1}`, sql`b = ${2}`], ' and ');
    const query = sql`select * from ${identifier('resource')} where ${conditions} limit ${3}`;
    expect(query.text).toBe('select * from "resource" where a = $1 and b = $2 limit $3');
    expect(query.values).toEqual([1, 2, 3]);
  });

  it('accepts only plain identifiers', () => {
    expect(() => identifier('x"; drop')).toThrow();
    expect(() => identifier('Upper')).toThrow();
  });
});

describe('result parsers', () => {
  it('reads timestamptz text as a UTC instant with milliseconds', () => {
    expect(parseTimestamptz('2026-11-24 14:15:08.123456+00')).toBe('2026-11-24T14:15:08.123Z');
    expect(parseTimestamptz('2026-11-24 14:15:08+00')).toBe('2026-11-24T14:15:08.000Z');
    expect(parseTimestamptz('2026-11-24 16:15:08.5+02')).toBe('2026-11-24T14:15:08.500Z');
    expect(parseTimestamptz('2026-11-24 19:45:08.1+05:30')).toBe('2026-11-24T14:15:08.100Z');
  });

  it('reads int8 as a number and refuses to lose digits', () => {
    expect(parseInt8('42')).toBe(42);
    expect(() => parseInt8('9223372036854775807')).toThrow(RangeError);
  });
});
