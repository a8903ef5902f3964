/**
 * Index rows for the modifiers that search another element than the parameter's own value
 * (http://hl7.org/fhir/R4/search.html#modifiers): token `:text` and `:of-type`, reference
 * `:identifier`, kept under derived parameter names in the existing tables; and how the parser
 * reads those modifiers.
 */
import { describe, expect, it } from 'vitest';
import { indexResource } from '../src/search/index-resource.ts';
import { identifierOfTypeCode, type ResourceIndex } from '../src/search/index-types.ts';
import { parseSearch } from '../src/search/query/parse-search.ts';
import { observation, patient } from './search-fixtures.ts';

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

function tokens(index: ResourceIndex, param: string) {
  return index.tokens.filter((entry) => entry.param === param).map(({ system, code }) => ({ system, code }));
}

function strings(index: ResourceIndex, param: string) {
  return index.strings
    .filter((entry) => entry.param === param)
    .map(({ value, normalized }) => ({ value, normalized }));
}

const search = (resourceType: string, query: string) =>
  parseSearch({ resourceType, pairs: [...new URLSearchParams(query)] });

describe('token :text rows (search.html#modifiers)', () => {
  it('index CodeableConcept.text and every Coding.display, case- and accent-folded', () => {
    const index = indexResource(
      observation({
        code: {
          text: 'Tension artérielle',
          coding: [
            { system: 'http://loinc.org', code: '85354-9', display: 'Blood pressure panel' },
            { system: 'http://snomed.info/sct', code: '75367002' },
          ],
        },
      }),
    );
    expect(strings(index, 'code:text')).toEqual([
      { value: 'Tension artérielle', normalized: 'tension arterielle' },
      { value: 'Blood pressure panel', normalized: 'blood pressure panel' },
    ]);
  });

  it('index Coding.display of a Coding-typed parameter', () => {
    const index = indexResource({
      resourceType: 'Encounter',
      id: 'e1',
      status: 'finished',
      class: {
        system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
        code: 'AMB',
        display: 'Ambulatory',
      },
    });
    expect(strings(index, 'class:text')).toEqual([{ value: 'Ambulatory', normalized: 'ambulatory' }]);
  });

  it('index Identifier.type.text, and nothing for an identifier without a type', () => {
    const index = indexResource(patient());
    expect(strings(index, 'identifier:text')).toEqual([{ value: 'MRN', normalized: 'mrn' }]);
  });

  it('leave the plain parameter rows as they were (:missing and _sort compare param = code)', () => {
    const index = indexResource(observation());
    expect(index.strings.some((entry) => entry.param === 'code')).toBe(false);
    expect(tokens(index, 'code')).toEqual([
      { system: 'http://loinc.org', code: '85354-9' },
      { system: 'http://snomed.info/sct', code: '75367002' },
    ]);
  });
});

describe('token :of-type rows (search.html#modifiers)', () => {
  it('index each Identifier.type coding with the identifier value', () => {
    const index = indexResource(
      patient({
        identifier: [
          {
            type: {
              coding: [
                { system: V2_0203, code: 'MR' },
                { system: 'http://acme.org/types', code: 'local' },
              ],
            },
            system: 'http://hospital.example/mrn',
            value: 'MRN-42',
          },
          { system: 'urn:oid:2.16.756.5.32', value: '7560000000001' },
        ],
      }),
    );
    expect(tokens(index, 'identifier:of-type')).toEqual([
      { system: V2_0203, code: 'MR|MRN-42' },
      { system: 'http://acme.org/types', code: 'local|MRN-42' },
    ]);
  });

  it('escape | and \\ in the type code, so code and value cannot be confused', () => {
    expect(identifierOfTypeCode('a|b', 'c')).toBe('a\\|b|c');
    expect(identifierOfTypeCode('a', 'b|c')).toBe('a|b|c');
    expect(identifierOfTypeCode('a\\', 'c')).toBe('a\\\\|c');
  });
});

describe('reference :identifier rows (search.html#reference)', () => {
  it('index Reference.identifier as system|value, with or without a literal reference', () => {
    const index = indexResource(
      observation({
        subject: { identifier: { system: 'urn:oid:2.16.756.5.32', value: '7560000000001' } },
        performer: [
          { reference: 'Practitioner/gp-1', identifier: { value: 'GLN-1' } },
          { reference: 'Patient/pat-1' },
        ],
      }),
    );
    expect(tokens(index, 'subject:identifier')).toEqual([
      { system: 'urn:oid:2.16.756.5.32', code: '7560000000001' },
    ]);
    expect(tokens(index, 'performer:identifier')).toEqual([{ system: null, code: 'GLN-1' }]);
    // A logical reference has no target: no search_reference row, so `subject:missing` is true.
    expect(index.references.filter((entry) => entry.param === 'subject')).toEqual([]);
  });
});

describe('parsing :text, :of-type and :identifier (search.html#modifiers)', () => {
  it('reads :text values as text, unescaped', () => {
    const { query, issues } = search('Observation', 'code:text=Blood pr,a\\,b');
    expect(issues).toEqual([]);
    expect(query.filters).toEqual([
      { kind: 'token', parameter: 'code:text', code: 'code', modifier: 'text', values: ['Blood pr', 'a,b'] },
    ]);
  });

  it('reads :of-type as system|code|value and refuses anything with fewer parts', () => {
    const { query, issues } = search('Patient', `identifier:of-type=${V2_0203}|MR|a\\|b`);
    expect(issues).toEqual([]);
    expect(query.filters).toEqual([
      {
        kind: 'token',
        parameter: 'identifier:of-type',
        code: 'identifier',
        modifier: 'of-type',
        values: [{ system: V2_0203, code: 'MR', value: 'a|b' }],
      },
    ]);
    for (const value of ['MR|123', `${V2_0203}||123`, `|MR|123`, `${V2_0203}|MR|`, 'a|b|c|d']) {
      const { issues: refused } = search('Patient', `identifier:of-type=${encodeURIComponent(value)}`);
      expect(refused, value).toMatchObject([{ code: 'invalid', expression: ['identifier:of-type'] }]);
    }
  });
});
