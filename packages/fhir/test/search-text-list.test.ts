/**
 * `_text`/`_content` queries and the text they search, and `_list` values
 * (http://hl7.org/fhir/R4/search.html#text, #content, #list).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FhirError } from '../src/outcome.ts';
import { textEntry, xhtmlText } from '../src/search/index-texts.ts';
import { parseSearch } from '../src/search/query/parse-search.ts';
import type { TextQuery } from '../src/search/query/search-query.ts';
import { parseTextQuery } from '../src/search/query/text-query.ts';

const word = (text: string, prefix = false): TextQuery => ({ kind: 'word', text, prefix });

describe('the _text query syntax (search.html#text)', () => {
  it('ANDs words, ORs OR, binds AND tighter and groups with parentheses', () => {
    expect(parseTextQuery('_text', 'bone metastases')).toEqual({
      kind: 'and',
      operands: [word('bone'), word('metastases')],
    });
    expect(parseTextQuery('_text', 'a b OR c')).toEqual({
      kind: 'or',
      operands: [{ kind: 'and', operands: [word('a'), word('b')] }, word('c')],
    });
    expect(parseTextQuery('_text', '(bone or liver) and metastases')).toEqual({
      kind: 'and',
      operands: [{ kind: 'or', operands: [word('bone'), word('liver')] }, word('metastases')],
    });
  });

  it('reads "phrases" and word* prefixes', () => {
    expect(parseTextQuery('_text', '"liver metastases" metast*')).toEqual({
      kind: 'and',
      operands: [{ kind: 'phrase', text: 'liver metastases' }, word('metast', true)],
    });
  });

  it('refuses exclusion, unbalanced groups and quotes, dangling operators and empty words', () => {
    for (const value of ['NOT a', '-a', '(a', 'a)', 'a OR', 'AND a', '"a', '""', '...', 'a ( ) b']) {
      expect(() => parseTextQuery('_text', value), value).toThrow(FhirError);
    }
  });

  it('returns a query or throws a FhirError naming the parameter, for any input', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'é', ' ', '(', ')', '"', '*', '-', 'OR', 'and', '1') }),
        (value) => {
          try {
            parseTextQuery('_content', value);
          } catch (error) {
            if (!(error instanceof FhirError)) throw error;
            expect(error.issues[0]?.expression).toEqual(['_content']);
          }
        },
      ),
    );
  });

  it('parses _text and _content filters with comma alternatives, without modifiers', () => {
    const { query, issues } = parseSearch({
      resourceType: 'Condition',
      pairs: [
        ['_text', 'bone,liver'],
        ['_content', 'x'],
        ['_text:exact', 'y'],
      ],
    });
    expect(query.filters).toEqual([
      {
        kind: 'text',
        parameter: '_text',
        code: '_text',
        field: 'narrative',
        values: [word('bone'), word('liver')],
      },
      { kind: 'text', parameter: '_content', code: '_content', field: 'content', values: [word('x')] },
    ]);
    expect(issues).toEqual([expect.objectContaining({ code: 'not-supported', expression: ['_text:exact'] })]);
  });
});

describe('_list values (search.html#list)', () => {
  it('reads List ids and the functional lists, and refuses anything else', () => {
    const { query, issues } = parseSearch({
      resourceType: 'AllergyIntolerance',
      pairs: [
        ['_list', '42,$current-allergies'],
        ['_list', '$current-drugs'],
        ['_list', 'List/42'],
      ],
    });
    expect(query.filters).toEqual([
      {
        kind: 'list',
        parameter: '_list',
        code: '_list',
        values: [
          { kind: 'id', id: '42' },
          { kind: 'functional', name: 'current-allergies' },
        ],
      },
    ]);
    expect(issues.map((issue) => issue.code)).toEqual(['not-supported', 'invalid']);
  });
});

describe('the text _text and _content search (search.html#text, #content)', () => {
  it('reads the narrative without markup: inline tags join, block tags separate, entities decode', () => {
    expect(
      xhtmlText('<div><p>Bone <b>meta</b>stases</p><p>&amp; pain&#x2C;&#233;&nbsp;x</p></div>').trim(),
    ).toBe('Bone metastases  & pain,é x');
    expect(
      xhtmlText('<div><!-- note --><td>a</td><td>b</td>&unknown;</div>').replace(/\s+/g, ' ').trim(),
    ).toBe('a b');
  });

  it('folds case and accents and takes every string and number, but not payloads or version stamps', () => {
    const entry = textEntry({
      resourceType: 'Observation',
      id: 'o1',
      meta: { versionId: '3', lastUpdated: '2026-11-24T10:00:00.000Z' },
      text: {
        status: 'generated',
        div: '<div xmlns="http://www.w3.org/1999/xhtml">Pulse <i>ÉLEVÉ</i></div>',
      },
      valueQuantity: { value: 72, unit: '/min' },
      note: [{ text: 'Ça va' }],
      presentedForm: [{ contentType: 'text/plain', data: 'aGVsbG8=' }],
    });
    expect(entry?.narrative).toBe('pulse eleve');
    expect(entry?.content.split(' ').sort()).toEqual(
      ['pulse', 'eleve', 'generated', '72', '/min', 'ca', 'va', 'text/plain'].sort(),
    );
  });

  it('has no narrative entry without a div', () => {
    expect(textEntry({ resourceType: 'Basic', code: { text: 'x' } })).toEqual({ content: 'x' });
  });
});
