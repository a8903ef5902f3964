import { describe, expect, it } from 'vitest';
import type { OutcomeIssue } from '../src/outcome.ts';
import { validateResourceStructure } from '../src/validation/structure.ts';

/** The (code, expression) pairs of the issues found, the part of an issue a client acts on. */
function found(resource: unknown): [OutcomeIssue['code'], string | undefined][] {
  return validateResourceStructure(resource).map((issue) => [issue.code, issue.expression?.[0]]);
}

const minimalObservation = { resourceType: 'Observation', status: 'final', code: { text: 'Body weight' } };

describe('structural validation of a resource (json.html, datatypes.html)', () => {
  it('accepts a minimal valid resource', () => {
    expect(validateResourceStructure({ resourceType: 'Patient' })).toEqual([]);
    expect(validateResourceStructure(minimalObservation)).toEqual([]);
  });

  it('reports every issue as an error with human-readable diagnostics', () => {
    const issues = validateResourceStructure({ resourceType: 'Patient', foo: 1, gender: 7 });
    expect(issues).toHaveLength(2);
    for (const issue of issues) {
      expect(issue.severity).toBe('error');
      expect(issue.diagnostics).toMatch(/\w{3,}/);
    }
  });

  describe('resources (json.html#resources)', () => {
    it('rejects a value that is not a JSON object', () => {
      expect(found([1])).toEqual([['structure', undefined]]);
      expect(found('Patient')).toEqual([['structure', undefined]]);
      expect(found(null)).toEqual([['structure', undefined]]);
    });

    it('requires a resourceType', () => {
      expect(found({ id: 'a' })).toEqual([['required', undefined]]);
    });

    it('rejects an unknown resourceType', () => {
      expect(found({ resourceType: 'Foo' })).toEqual([['invalid', undefined]]);
    });

    it('rejects the abstract resource types Resource and DomainResource', () => {
      expect(found({ resourceType: 'Resource' })).toEqual([['invalid', undefined]]);
      expect(found({ resourceType: 'DomainResource' })).toEqual([['invalid', undefined]]);
    });

    it('rejects a resource id that is not an id (datatypes.html#id)', () => {
      expect(found({ resourceType: 'Patient', id: 'has space' })).toEqual([['value', 'Patient.id']]);
      expect(found({ resourceType: 'Patient', id: 'x'.repeat(65) })).toEqual([['value', 'Patient.id']]);
      expect(found({ resourceType: 'Patient', id: 12 })).toEqual([['structure', 'Patient.id']]);
      expect(found({ resourceType: 'Patient', id: 'A-z.09' })).toEqual([]);
    });
  });

  describe('element names', () => {
    it('rejects an unknown element, at the root and nested', () => {
      const patient = { resourceType: 'Patient', foo: 1, name: [{ family: 'Chalmers', bar: 'x' }] };
      expect(found(patient)).toEqual([
        ['structure', 'Patient.foo'],
        ['structure', 'Patient.name[0].bar'],
      ]);
    });

    it('rejects an unknown element inside a backbone element reached by contentReference', () => {
      const questionnaire = {
        resourceType: 'Questionnaire',
        status: 'draft',
        item: [{ linkId: '1', type: 'group', item: [{ linkId: '1.1', type: 'string', foo: true }] }],
      };
      expect(found(questionnaire)).toEqual([['structure', 'Questionnaire.item[0].item[0].foo']]);
    });

    it('accepts extension and modifierExtension anywhere (extensibility.html)', () => {
      const extension = [{ url: 'http://example.org/x', valueString: 'a' }];
      const patient = {
        resourceType: 'Patient',
        extension,
        modifierExtension: extension,
        name: [{ extension, family: 'Chalmers' }],
        contact: [{ modifierExtension: extension, gender: 'female' }],
      };
      expect(found(patient)).toEqual([]);
    });

    it('requires Extension.url (extensibility.html#Extension)', () => {
      const patient = { resourceType: 'Patient', name: [{ extension: [{ valueString: 'a' }] }] };
      expect(found(patient)).toEqual([['required', 'Patient.name[0].extension[0].url']]);
    });
  });

  describe('choice elements (formats.html#choice)', () => {
    it('accepts one variant of value[x]', () => {
      const observation = { ...minimalObservation, valueQuantity: { value: 72.5, unit: 'kg' } };
      expect(found(observation)).toEqual([]);
    });

    it('rejects two variants of the same choice element', () => {
      const observation = { ...minimalObservation, valueString: 'a', valueBoolean: true };
      expect(found(observation)).toEqual([['structure', 'Observation.value']]);
    });

    it('rejects a variant whose type suffix is not an allowed type', () => {
      const observation = { ...minimalObservation, valueAddress: { city: 'Kyiv' } };
      const issues = validateResourceStructure(observation);
      expect(found(observation)).toEqual([['structure', 'Observation.valueAddress']]);
      expect(issues[0]?.diagnostics).toContain('Observation.value[x]');
    });
  });

  describe('arrays (json.html#arrays)', () => {
    it('rejects an array for an element with max cardinality 1', () => {
      expect(found({ resourceType: 'Patient', gender: ['male'] })).toEqual([['structure', 'Patient.gender']]);
    });

    it('rejects a single value for a repeating element', () => {
      expect(found({ resourceType: 'Patient', name: { family: 'Chalmers' } })).toEqual([
        ['structure', 'Patient.name'],
      ]);
    });

    it('indexes repeated values in the expression', () => {
      const patient = { resourceType: 'Patient', name: [{ given: ['Peter'] }, { given: ['Jim', 5] }] };
      expect(found(patient)).toEqual([['structure', 'Patient.name[1].given[1]']]);
    });
  });

  describe('empty and null values (json.html: "empty objects are not allowed")', () => {
    it('rejects empty objects, arrays and strings', () => {
      const patient = { resourceType: 'Patient', name: [], telecom: [{}], gender: '' };
      expect(found(patient)).toEqual([
        ['structure', 'Patient.name'],
        ['structure', 'Patient.telecom[0]'],
        ['value', 'Patient.gender'],
      ]);
    });

    it('rejects null as a value', () => {
      expect(found({ resourceType: 'Patient', gender: null, name: [null] })).toEqual([
        ['structure', 'Patient.gender'],
        ['structure', 'Patient.name[0]'],
      ]);
    });
  });

  describe('required elements (min cardinality ≥ 1)', () => {
    it('reports a missing required element', () => {
      expect(found({ resourceType: 'Observation', code: { text: 'x' } })).toEqual([
        ['required', 'Observation.status'],
      ]);
    });

    it('reports a missing required element of a backbone element', () => {
      const patient = { resourceType: 'Patient', link: [{ type: 'seealso' }] };
      expect(found(patient)).toEqual([['required', 'Patient.link[0].other']]);
    });

    it('counts a primitive that only has extensions as present (json.html#primitive)', () => {
      const observation = {
        resourceType: 'Observation',
        _status: {
          extension: [
            { url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' },
          ],
        },
        code: { text: 'x' },
      };
      expect(found(observation)).toEqual([]);
    });
  });

  describe('primitive types (datatypes.html#primitive)', () => {
    it('rejects a value of the wrong JSON type', () => {
      const patient = { resourceType: 'Patient', active: 'true', multipleBirthInteger: '2' };
      expect(found(patient)).toEqual([
        ['structure', 'Patient.active'],
        ['structure', 'Patient.multipleBirthInteger'],
      ]);
    });

    it.each([
      ['a date without the day of a 31st', { birthDate: '2023-02-30' }],
      ['a month 13', { birthDate: '1990-13-01' }],
      ['a date with a time', { birthDate: '1990-01-01T10:00:00Z' }],
      ['a dateTime with a time but no zone', { deceasedDateTime: '2020-01-01T10:00:00' }],
      ['a 29 February of a common year', { deceasedDateTime: '1900-02-29' }],
      ['a decimal as integer', { multipleBirthInteger: 1.5 }],
      ['an integer beyond 32 bits', { multipleBirthInteger: 2 ** 31 }],
      ['a code with a leading space', { gender: ' male' }],
    ])('rejects %s', (_case, elements) => {
      const [name] = Object.keys(elements);
      expect(found({ resourceType: 'Patient', ...elements })).toEqual([['value', `Patient.${name}`]]);
    });

    it.each([
      ['a year', { birthDate: '1974' }],
      ['a year and month', { birthDate: '1974-12' }],
      ['29 February of a leap year', { birthDate: '2000-02-29' }],
      ['a dateTime with zone', { deceasedDateTime: '2015-02-07T13:28:17.239+02:00' }],
      ['a leap second', { deceasedDateTime: '2016-12-31T23:59:60Z' }],
    ])('accepts %s', (_case, elements) => {
      expect(found({ resourceType: 'Patient', ...elements })).toEqual([]);
    });

    it('checks positiveInt, unsignedInt, instant, time, uri, base64Binary and uuid', () => {
      const resource = {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        issued: '2015-02-07',
        valueSampledData: { origin: { value: 0 }, period: 1, dimensions: 0, data: 'E' },
        component: [{ code: { text: 'y' }, valueTime: '25:00:00' }],
        identifier: [{ system: 'urn:uuid:NOT-A-UUID has spaces' }],
        derivedFrom: [{ reference: 'Observation/1' }],
      };
      expect(found(resource)).toEqual([
        ['value', 'Observation.issued'],
        ['value', 'Observation.valueSampledData.dimensions'],
        ['value', 'Observation.component[0].valueTime'],
        ['value', 'Observation.identifier[0].system'],
      ]);
      const attachment = { resourceType: 'Binary', contentType: 'text/plain', data: 'abc' };
      expect(found(attachment)).toEqual([['value', 'Binary.data']]);
      expect(found({ ...attachment, data: 'aGVs\nbG8=' })).toEqual([]);
    });

    it('treats \\s in spec regexes as XML Schema whitespace, so a string may hold a no-break space', () => {
      expect(found({ resourceType: 'Patient', name: [{ family: 'van\u00a0Dijk' }] })).toEqual([]);
    });
  });

  describe('primitive extensions (json.html#primitive)', () => {
    it('accepts _element siblings with id and extensions, and nulls that keep arrays aligned', () => {
      const patient = {
        resourceType: 'Patient',
        birthDate: '1974-12-25',
        _birthDate: { id: 'b', extension: [{ url: 'http://example.org/time', valueTime: '14:35:45' }] },
        name: [
          {
            given: ['Peter', null],
            _given: [null, { extension: [{ url: 'http://example.org/x', valueString: 'Jim' }] }],
          },
        ],
      };
      expect(found(patient)).toEqual([]);
    });

    it('rejects a null without an extension, misaligned arrays and unknown content', () => {
      const patient = {
        resourceType: 'Patient',
        name: [{ given: ['Peter', null], _given: [{ foo: 1 }] }],
        _gender: 'x',
        _name: {},
      };
      expect(found(patient)).toEqual([
        ['structure', 'Patient.name[0].given[1]'],
        ['structure', 'Patient.name[0].given'],
        ['structure', 'Patient.name[0].given[0].foo'],
        ['structure', 'Patient.gender'],
        ['structure', 'Patient._name'],
      ]);
    });
  });

  describe('resources inside resources', () => {
    it('validates contained resources as resources (references.html#contained)', () => {
      const patient = {
        resourceType: 'Patient',
        contained: [
          { resourceType: 'Organization', id: 'org', name: 'ACME', foo: 1 },
          { resourceType: 'Nope' },
          { resourceType: 'Practitioner', id: 'bad id' },
        ],
      };
      expect(found(patient)).toEqual([
        ['structure', 'Patient.contained[0].foo'],
        ['invalid', 'Patient.contained[1]'],
        ['value', 'Patient.contained[2].id'],
      ]);
    });

    it('validates Bundle.entry.resource and Bundle.entry.response.outcome', () => {
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction-response',
        entry: [
          { resource: { resourceType: 'Patient', birthDate: 'yesterday' }, response: { status: '201' } },
          {
            response: {
              status: '400',
              outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error' }] },
            },
          },
        ],
      };
      expect(found(bundle)).toEqual([
        ['value', 'Bundle.entry[0].resource.birthDate'],
        ['required', 'Bundle.entry[1].response.outcome.issue[0].code'],
      ]);
    });

    it('validates Parameters.parameter.resource', () => {
      const parameters = {
        resourceType: 'Parameters',
        parameter: [{ name: 'patient', resource: { resourceType: 'Patient', gender: 1 } }],
      };
      expect(found(parameters)).toEqual([['structure', 'Parameters.parameter[0].resource.gender']]);
    });
  });
});
