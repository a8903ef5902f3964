/**
 * JSON Patch (RFC 6902) as the FHIR patch interaction uses it — http://hl7.org/fhir/R4/http.html#patch.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyJsonPatch, FhirError, type FhirResource } from '../src/index.ts';
import { failure } from './support/fhir-failure.ts';

function patient(body: Record<string, unknown> = {}): FhirResource {
  return { resourceType: 'Patient', id: 'p1', ...body };
}

describe('JSON Patch operations (RFC 6902 §4)', () => {
  it('adds a member, and inserts into an array by index or at "-" (§4.1)', () => {
    const result = applyJsonPatch(patient({ name: [{ family: 'B' }] }), [
      { op: 'add', path: '/active', value: true },
      { op: 'add', path: '/name/0', value: { family: 'A' } },
      { op: 'add', path: '/name/-', value: { family: 'C' } },
    ]);
    expect(result).toEqual(
      patient({ name: [{ family: 'A' }, { family: 'B' }, { family: 'C' }], active: true }),
    );
  });

  it('removes, replaces, moves and copies (§4.2-§4.5)', () => {
    const result = applyJsonPatch(patient({ active: true, gender: 'male', name: [{ given: ['a', 'b'] }] }), [
      { op: 'remove', path: '/active' },
      { op: 'replace', path: '/gender', value: 'female' },
      { op: 'move', from: '/name/0/given/1', path: '/name/0/given/0' },
      { op: 'copy', from: '/gender', path: '/name/0/text' },
    ]);
    expect(result).toEqual(patient({ gender: 'female', name: [{ given: ['b', 'a'], text: 'female' }] }));
  });

  it('decodes ~1 and ~0 in pointers (RFC 6901 §4)', () => {
    const result = applyJsonPatch(patient(), [{ op: 'add', path: '/a~1b~0c', value: 1 }]);
    expect(result['a/b~c']).toBe(1);
  });

  it('passes a test whose value is deeply equal regardless of member order (§4.6)', () => {
    const input = patient({ name: [{ family: 'A', given: ['x'] }] });
    const patch = [{ op: 'test', path: '/name/0', value: { given: ['x'], family: 'A' } }];
    expect(applyJsonPatch(input, patch)).toEqual(input);
  });

  it('never mutates the resource it is given', () => {
    const input = patient({ name: [{ family: 'A' }] });
    const before = structuredClone(input);
    applyJsonPatch(input, [
      { op: 'add', path: '/name/0/given', value: ['x'] },
      { op: 'remove', path: '/name/0/family' },
    ]);
    expect(input).toEqual(before);
  });

  it('treats a "__proto__" member as data, never as the prototype', () => {
    const result = applyJsonPatch(patient(), [{ op: 'add', path: '/__proto__', value: { polluted: true } }]);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Reflect.get({}, 'polluted')).toBeUndefined();
  });
});

describe('JSON Patch failures (http.html#patch)', () => {
  it('answers 422 (processing) when a test fails, and applies nothing', () => {
    const input = patient({ gender: 'male' });
    const error = failure(() =>
      applyJsonPatch(input, [
        { op: 'replace', path: '/gender', value: 'female' },
        { op: 'test', path: '/gender', value: 'male' },
      ]),
    );
    expect(error.status).toBe(422);
    expect(error.issues[0]).toMatchObject({ severity: 'error', code: 'processing' });
    expect(error.issues[0]?.diagnostics).toMatch(/operation 1 \(test \/gender\) test failed/);
    expect(input.gender).toBe('male');
  });

  it.each([
    ['remove of a missing member', [{ op: 'remove', path: '/birthDate' }]],
    ['replace of a missing member', [{ op: 'replace', path: '/birthDate', value: '2000' }]],
    ['add under a missing parent', [{ op: 'add', path: '/contact/0/name', value: {} }]],
    ['an index past the end', [{ op: 'add', path: '/name/5', value: {} }]],
    ['an index with a leading zero', [{ op: 'remove', path: '/name/00' }]],
    ['"-" outside add', [{ op: 'remove', path: '/name/-' }]],
    ['a move into its own child', [{ op: 'move', from: '/name', path: '/name/0/x' }]],
    ['a step into a primitive', [{ op: 'add', path: '/name/0/family/x', value: 1 }]],
    ['removing the whole resource', [{ op: 'remove', path: '' }]],
  ])('answers 422 for %s', (_, patch) => {
    const error = failure(() => applyJsonPatch(patient({ name: [{ family: 'A' }] }), patch));
    expect(error.status).toBe(422);
    expect(error.issues[0]?.code).toBe('processing');
  });

  it.each([
    ['a document that is not an array', { op: 'add' }],
    ['an unknown op', [{ op: 'merge', path: '/a' }]],
    ['a path that is not a JSON Pointer', [{ op: 'remove', path: 'name' }]],
    ['a bad escape', [{ op: 'remove', path: '/a~2' }]],
    ['add without value', [{ op: 'add', path: '/a' }]],
    ['move without from', [{ op: 'move', path: '/a' }]],
    ['a value that is not JSON', [{ op: 'add', path: '/a', value: Number.NaN }]],
  ])('answers 400 (invalid) for a malformed document: %s', (_, patch) => {
    const error = failure(() => applyJsonPatch(patient(), patch));
    expect(error.status).toBe(400);
    expect(error.issues[0]?.code).toBe('invalid');
  });

  it('refuses to change resourceType or id, naming the element', () => {
    const type = failure(() =>
      applyJsonPatch(patient(), [{ op: 'replace', path: '/resourceType', value: 'Group' }]),
    );
    expect(type.issues[0]?.expression).toEqual(['Patient.resourceType']);
    const id = failure(() => applyJsonPatch(patient(), [{ op: 'remove', path: '/id' }]));
    expect(id.status).toBe(422);
    expect(id.issues[0]?.expression).toEqual(['Patient.id']);
    const whole = failure(() => applyJsonPatch(patient(), [{ op: 'replace', path: '', value: [] }]));
    expect(whole.status).toBe(422);
  });

  it('throws nothing but FhirError for random operation arrays (property)', () => {
    const pointer = fc.oneof(
      fc.constantFrom(
        '',
        '/',
        '/name',
        '/name/0',
        '/name/-',
        '/name/0/given/1',
        '/id',
        '/resourceType',
        '/x~1y',
        '/~',
      ),
      fc
        .array(fc.oneof(fc.string(), fc.nat(3).map(String)), { maxLength: 4 })
        .map((tokens) => `/${tokens.join('/')}`),
      fc.string(),
    );
    const anOperation = fc.oneof(
      fc.record(
        {
          op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', 'x'),
          path: pointer,
          from: pointer,
          value: fc.jsonValue(),
        },
        { requiredKeys: ['op'] },
      ),
      fc.anything(),
    );
    const input = patient({ name: [{ family: 'A', given: ['a', 'b'] }], active: true });
    fc.assert(
      fc.property(fc.oneof(fc.array(anOperation, { maxLength: 6 }), fc.anything()), (operations) => {
        try {
          expect(applyJsonPatch(input, operations).resourceType).toBe('Patient');
        } catch (error) {
          expect(error).toBeInstanceOf(FhirError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
