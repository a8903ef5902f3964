/**
 * FHIRPath Patch — http://hl7.org/fhir/R4/fhirpatch.html.
 * The "fhir-test-cases" block transcribes the cases of FHIR/fhir-test-cases r5/patch/fhir-path-tests.xml
 * (Apache-2.0) to JSON, under the same names; that file is not part of ../shared/data.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyFhirPathPatch, FhirError, type FhirResource } from '../src/index.ts';
import { failure } from './support/fhir-failure.ts';

type Part = { name: string; [value: string]: unknown };

function operation(type: string, parts: Record<string, unknown>): { name: string; part: Part[] } {
  const part: Part[] = [{ name: 'type', valueCode: type }];
  for (const [name, value] of Object.entries(parts)) {
    if (name === 'path' || name === 'name') part.push({ name, valueString: value });
    else if (name === 'index' || name === 'source' || name === 'destination')
      part.push({ name, valueInteger: value });
    else if (name === 'value' && typeof value === 'object' && value !== null && 'part' in value)
      part.push({ name, ...value });
    else part.push({ name: 'value', ...(typeof value === 'object' && value !== null ? value : {}) });
  }
  return { name: 'operation', part };
}

function parameters(...operations: ReturnType<typeof operation>[]) {
  return { resourceType: 'Parameters', parameter: operations };
}

function patient(body: Record<string, unknown> = {}): FhirResource {
  return { resourceType: 'Patient', id: 'p1', ...body };
}

function identifiers(...values: string[]) {
  return values.map((value) => ({ system: 'http://example.org', value }));
}

describe('fhir-test-cases r5/patch/fhir-path-tests.xml (fhirpatch.html)', () => {
  const cases: {
    name: string;
    input: Record<string, unknown>;
    ops: ReturnType<typeof operation>[];
    output: Record<string, unknown>;
  }[] = [
    {
      name: 'No Difference',
      input: { birthDate: '1920-01-01' },
      ops: [],
      output: { birthDate: '1920-01-01' },
    },
    {
      name: 'Replace Primitive',
      input: { birthDate: '1920-01-01' },
      ops: [operation('replace', { path: 'Patient.birthDate', value: { valueDate: '1930-01-01' } })],
      output: { birthDate: '1930-01-01' },
    },
    {
      name: 'Delete Primitive',
      input: { birthDate: '1920-01-01' },
      ops: [operation('delete', { path: 'Patient.birthDate' })],
      output: {},
    },
    {
      name: 'Add Primitive',
      input: {},
      ops: [operation('add', { path: 'Patient', name: 'birthDate', value: { valueDate: '1930-01-01' } })],
      output: { birthDate: '1930-01-01' },
    },
    {
      name: 'Replace Nested Primitive #1',
      input: { contact: [{ name: { text: 'a name' }, gender: 'male' }] },
      ops: [operation('replace', { path: 'Patient.contact[0].gender', value: { valueCode: 'female' } })],
      output: { contact: [{ name: { text: 'a name' }, gender: 'female' }] },
    },
    {
      name: 'Replace Nested Primitive #2',
      input: { contact: [{ name: { text: 'a name' }, gender: 'male' }] },
      ops: [
        operation('replace', { path: 'Patient.contact[0].name.text', value: { valueString: 'the name' } }),
      ],
      output: { contact: [{ name: { text: 'the name' }, gender: 'male' }] },
    },
    {
      name: 'Delete Nested Primitive #1',
      input: { contact: [{ name: { text: 'a name' }, gender: 'male' }] },
      ops: [operation('delete', { path: 'Patient.contact[0].gender' })],
      output: { contact: [{ name: { text: 'a name' } }] },
    },
    {
      name: 'Delete Nested Primitive #2',
      input: { contact: [{ name: { text: 'a name' }, gender: 'male' }] },
      ops: [operation('delete', { path: 'Patient.contact[0].name.text' })],
      output: { contact: [{ gender: 'male' }] },
    },
    {
      name: 'Add Nested Primitive',
      input: { contact: [{ name: { text: 'a name' } }] },
      ops: [operation('add', { path: 'Patient.contact[0]', name: 'gender', value: { valueCode: 'male' } })],
      output: { contact: [{ name: { text: 'a name' }, gender: 'male' }] },
    },
    {
      name: 'Add Complex',
      input: {},
      ops: [
        operation('add', {
          path: 'Patient',
          name: 'maritalStatus',
          value: { valueCodeableConcept: { text: 'married' } },
        }),
      ],
      output: { maritalStatus: { text: 'married' } },
    },
    {
      name: 'Replace Complex',
      input: { maritalStatus: { id: '1', text: 'married' } },
      ops: [
        operation('replace', {
          path: 'Patient.maritalStatus',
          value: { valueCodeableConcept: { id: '2', text: 'not married' } },
        }),
      ],
      output: { maritalStatus: { id: '2', text: 'not married' } },
    },
    {
      name: 'Delete Complex',
      input: { maritalStatus: { text: 'married' } },
      ops: [operation('delete', { path: 'Patient.maritalStatus' })],
      output: {},
    },
    {
      name: 'Add Anonymous Type',
      input: {},
      ops: [
        operation('add', {
          path: 'Patient',
          name: 'contact',
          value: { part: [{ name: 'name', valueHumanName: { text: 'a name' } }] },
        }),
      ],
      output: { contact: [{ name: { text: 'a name' } }] },
    },
    {
      name: 'Delete Anonymous Type',
      input: { contact: [{ name: { text: 'a name' } }] },
      ops: [operation('delete', { path: 'Patient.contact[0]' })],
      output: {},
    },
    {
      name: 'List unchanged, contents changed',
      input: {
        identifier: [
          { id: 'a', ...identifiers('value 1')[0] },
          { id: 'b', ...identifiers('value 2')[0] },
        ],
      },
      ops: [
        operation('replace', { path: 'Patient.identifier[0].value', value: { valueString: 'value 2' } }),
        operation('replace', { path: 'Patient.identifier[1].value', value: { valueString: 'value 1' } }),
      ],
      output: {
        identifier: [
          { id: 'a', ...identifiers('value 2')[0] },
          { id: 'b', ...identifiers('value 1')[0] },
        ],
      },
    },
    {
      name: 'Add to list',
      input: { identifier: identifiers('value 1', 'value 2') },
      ops: [
        operation('insert', {
          path: 'Patient.identifier',
          index: 2,
          value: { valueIdentifier: identifiers('value 3')[0] },
        }),
      ],
      output: { identifier: identifiers('value 1', 'value 2', 'value 3') },
    },
    {
      name: 'Insert in list #1',
      input: { identifier: identifiers('value 1', 'value 2') },
      ops: [
        operation('insert', {
          path: 'Patient.identifier',
          index: 1,
          value: { valueIdentifier: identifiers('value 3')[0] },
        }),
      ],
      output: { identifier: identifiers('value 1', 'value 3', 'value 2') },
    },
    {
      name: 'Insert in list #2',
      input: { identifier: identifiers('value 1', 'value 2') },
      ops: [
        operation('insert', {
          path: 'Patient.identifier',
          index: 0,
          value: { valueIdentifier: identifiers('value 3')[0] },
        }),
      ],
      output: { identifier: identifiers('value 3', 'value 1', 'value 2') },
    },
    ...[0, 1, 2].map((index) => ({
      name: `Delete from List #${index + 1}`,
      input: { identifier: identifiers('value 1', 'value 2', 'value 3') },
      ops: [operation('delete', { path: `Patient.identifier[${index}]` })],
      output: { identifier: identifiers(...['value 1', 'value 2', 'value 3'].filter((_, i) => i !== index)) },
    })),
    ...(
      [
        ['Reorder List #1', [[3, 1]], ['1', '4', '2', '3']],
        ['Reorder List #2', [[3, 0]], ['4', '1', '2', '3']],
        ['Reorder List #3', [[3, 2]], ['1', '2', '4', '3']],
        ['Reorder List #4', [[0, 3]], ['2', '3', '4', '1']],
        [
          'Reorder List #5',
          [
            [1, 0],
            [2, 1],
          ],
          ['2', '3', '1', '4'],
        ],
        [
          'Reorder List #6',
          [
            [3, 0],
            [3, 1],
            [3, 2],
          ],
          ['4', '3', '2', '1'],
        ],
      ] as const
    ).map(([name, moves, order]) => ({
      name,
      input: { identifier: identifiers('value 1', 'value 2', 'value 3', 'value 4') },
      ops: moves.map(([source, destination]) =>
        operation('move', { path: 'Patient.identifier', source, destination }),
      ),
      output: { identifier: identifiers(...order.map((n) => `value ${n}`)) },
    })),
    {
      name: 'Operation on missing element #2',
      input: {},
      ops: [
        operation('add', {
          path: 'Patient',
          name: 'identifier',
          value: { valueIdentifier: identifiers('value 3')[0] },
        }),
      ],
      output: { identifier: identifiers('value 3') },
    },
  ];

  for (const { name, input, ops, output } of cases) {
    it(name, () => {
      expect(applyFhirPathPatch(patient(input), parameters(...ops))).toEqual(patient(output));
    });
  }

  it('Operation on missing element: add at a path that selects nothing is a 422', () => {
    const input = patient({ identifier: [{ use: 'official', value: '123' }] });
    const patch = parameters(
      operation('add', {
        path: "Patient.identifier.where(use = 'official').period",
        name: 'end',
        value: { valueDateTime: '2021-12-01' },
      }),
    );
    const error = failure(() => applyFhirPathPatch(input, patch));
    expect(error.status).toBe(422);
    expect(error.issues[0]?.code).toBe('processing');
    expect(error.issues[0]?.diagnostics).toMatch(/operation 0 .*selected no element/);
  });
});

describe('FHIRPath Patch rules (fhirpatch.html)', () => {
  it('never mutates the resource it is given', () => {
    const input = patient({ name: [{ family: 'Chalmers' }] });
    const before = structuredClone(input);
    applyFhirPathPatch(input, parameters(operation('delete', { path: 'Patient.name' })));
    expect(input).toEqual(before);
  });

  it('deletes nothing, without error, when the path selects nothing ("delete … if found")', () => {
    const input = patient({ active: true });
    expect(applyFhirPathPatch(input, parameters(operation('delete', { path: 'Patient.birthDate' })))).toEqual(
      input,
    );
  });

  it('refuses to delete several elements at once ("Only a single element can be deleted")', () => {
    const input = patient({ name: [{ family: 'A' }, { family: 'B' }] });
    expect(
      failure(() => applyFhirPathPatch(input, parameters(operation('delete', { path: 'Patient.name' }))))
        .status,
    ).toBe(422);
  });

  it('refuses a replace whose path selects several elements ("must return a single element")', () => {
    const input = patient({ name: [{ family: 'A' }, { family: 'B' }] });
    const patch = parameters(
      operation('replace', { path: 'Patient.name.family', value: { valueString: 'C' } }),
    );
    expect(failure(() => applyFhirPathPatch(input, patch)).issues[0]?.diagnostics).toMatch(
      /selected 2 elements/,
    );
  });

  it('refuses to add a non-repeating element that already exists ("as long as they do not already exist")', () => {
    const input = patient({ birthDate: '1920-01-01' });
    const patch = parameters(
      operation('add', { path: 'Patient', name: 'birthDate', value: { valueDate: '1930-01-01' } }),
    );
    expect(failure(() => applyFhirPathPatch(input, patch)).status).toBe(422);
  });

  it('refuses a value of the wrong type ("Servers SHALL return an error if the type is wrong")', () => {
    const patch = parameters(
      operation('add', { path: 'Patient', name: 'maritalStatus', value: { valueString: 'married' } }),
    );
    const error = failure(() => applyFhirPathPatch(patient(), patch));
    expect(error.status).toBe(422);
    expect(error.issues[0]?.diagnostics).toMatch(/Patient\.maritalStatus takes CodeableConcept/);
  });

  it('writes a choice element under the key of the value type, and replaces across types', () => {
    const added = applyFhirPathPatch(
      patient(),
      parameters(operation('add', { path: 'Patient', name: 'deceased', value: { valueBoolean: false } })),
    );
    expect(added.deceasedBoolean).toBe(false);
    const replaced = applyFhirPathPatch(
      added,
      parameters(operation('replace', { path: 'Patient.deceased', value: { valueDateTime: '2020-01-01' } })),
    );
    expect(replaced).toEqual(patient({ deceasedDateTime: '2020-01-01' }));
  });

  it('inserts into a list that does not exist yet', () => {
    const patch = parameters(
      operation('insert', { path: 'Patient.name', index: 0, value: { valueHumanName: { family: 'X' } } }),
    );
    expect(applyFhirPathPatch(patient(), patch)).toEqual(patient({ name: [{ family: 'X' }] }));
  });

  it('refuses an insert index beyond the end of the list ("must be equal or less than the number of elements")', () => {
    const patch = parameters(
      operation('insert', { path: 'Patient.identifier', index: 3, value: { valueIdentifier: {} } }),
    );
    expect(failure(() => applyFhirPathPatch(patient({ identifier: identifiers('1') }), patch)).status).toBe(
      422,
    );
  });

  it('keeps the _given twin array of a repeating primitive aligned when deleting and moving', () => {
    const input = patient({
      name: [
        { given: ['a', 'b', 'c'], _given: [null, { extension: [{ url: 'u', valueString: 'b' }] }, null] },
      ],
    });
    const moved = applyFhirPathPatch(
      input,
      parameters(operation('move', { path: 'Patient.name.given', source: 1, destination: 0 })),
    );
    expect(moved.name).toEqual([
      { given: ['b', 'a', 'c'], _given: [{ extension: [{ url: 'u', valueString: 'b' }] }, null, null] },
    ]);
    const deleted = applyFhirPathPatch(
      moved,
      parameters(operation('delete', { path: 'Patient.name.given[0]' })),
    );
    expect(deleted.name).toEqual([{ given: ['a', 'c'] }]);
  });

  it('assembles a backbone element from nested parts, using the cardinality of each child', () => {
    const patch = parameters(
      operation('add', {
        path: 'Patient',
        name: 'contact',
        value: {
          part: [
            { name: 'name', valueHumanName: { family: 'du Marché' } },
            { name: 'telecom', valueContactPoint: { system: 'phone', value: '+33 237 998327' } },
            { name: 'gender', valueCode: 'female' },
          ],
        },
      }),
    );
    expect(applyFhirPathPatch(patient(), patch).contact).toEqual([
      {
        name: { family: 'du Marché' },
        telecom: [{ system: 'phone', value: '+33 237 998327' }],
        gender: 'female',
      },
    ]);
  });

  it('refuses to change the id (http.html#patch)', () => {
    const patch = parameters(operation('replace', { path: 'Patient.id', value: { valueId: 'other' } }));
    const error = failure(() => applyFhirPathPatch(patient(), patch));
    expect(error.status).toBe(422);
    expect(error.issues[0]?.expression).toEqual(['Patient.id']);
  });

  it('refuses paths that do not select elements of the resource, such as literals', () => {
    const patch = parameters(operation('replace', { path: "'text'", value: { valueString: 'x' } }));
    expect(failure(() => applyFhirPathPatch(patient(), patch)).status).toBe(422);
  });

  it('answers 400 for a path that is not FHIRPath', () => {
    const patch = parameters(operation('delete', { path: 'Patient.name[' }));
    expect(failure(() => applyFhirPathPatch(patient(), patch)).status).toBe(400);
  });

  it.each([
    ['not a Parameters resource', { resourceType: 'Patient' }],
    [
      'a parameter that is not an operation',
      { resourceType: 'Parameters', parameter: [{ name: 'x', valueString: 'y' }] },
    ],
    ['an unknown operation type', parameters(operation('upsert', { path: 'Patient' }))],
    ['a missing path', parameters({ name: 'operation', part: [{ name: 'type', valueCode: 'delete' }] })],
    [
      'a negative index',
      parameters(operation('insert', { path: 'Patient.name', index: -1, value: { valueHumanName: {} } })),
    ],
    [
      'a value with two value[x]',
      parameters(
        operation('replace', { path: 'Patient.active', value: { valueBoolean: true, valueString: 'x' } }),
      ),
    ],
  ])('answers 400 (invalid) for a malformed patch: %s', (_, patch) => {
    const error = failure(() => applyFhirPathPatch(patient(), patch));
    expect(error.status).toBe(400);
    expect(error.issues[0]?.code).toBe('invalid');
  });

  it('throws nothing but FhirError for random operations (property)', () => {
    const paths = fc.constantFrom(
      'Patient',
      'Patient.name',
      'Patient.name[0]',
      'Patient.name.given',
      'Patient.birthDate',
      'Patient.deceased',
      'Patient.contact.name',
      'Patient.identifier',
      "Patient.name.where(family = 'A')",
      'Patient.id',
      '%resource',
      '1 + 1',
      'Patient.name.given.first()',
      '',
      'Patient..x',
      'Patient.extension',
    );
    const value = fc.oneof(
      fc.record({ valueString: fc.string() }),
      fc.record({ valueBoolean: fc.boolean() }),
      fc.record({ valueHumanName: fc.record({ family: fc.string() }) }),
      fc.record({
        part: fc.array(
          fc.record({ name: fc.constantFrom('name', 'gender', 'x'), valueString: fc.string() }),
          { maxLength: 3 },
        ),
      }),
      fc.record({ valueInteger: fc.integer() }),
      fc.anything().map((anything) => ({ valueX: anything })),
    );
    const anOperation = fc.record(
      {
        type: fc.constantFrom('add', 'insert', 'delete', 'replace', 'move', 'bogus'),
        path: paths,
        name: fc.constantFrom('name', 'given', 'birthDate', 'deceased', 'contact', 'family', 'nope'),
        value,
        index: fc.integer({ min: -1, max: 4 }),
        source: fc.integer({ min: 0, max: 3 }),
        destination: fc.integer({ min: 0, max: 3 }),
      },
      { requiredKeys: ['type'] },
    );
    const input = patient({
      name: [{ family: 'A', given: ['a', 'b'] }, { family: 'B' }],
      birthDate: '1970-01-01',
    });
    fc.assert(
      fc.property(fc.array(anOperation, { maxLength: 5 }), (ops) => {
        const patch = parameters(...ops.map(({ type, ...parts }) => operation(type, parts)));
        try {
          const result = applyFhirPathPatch(input, patch);
          expect(result.resourceType).toBe('Patient');
        } catch (error) {
          expect(error).toBeInstanceOf(FhirError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
