/**
 * Custom SearchParameters in a registry (searchparameter.html): the check that keeps parameters
 * the indexer cannot evaluate out, `indexing` parameters refused by the parser, and removal.
 */
import { describe, expect, it } from 'vitest';
import {
  checkCustomSearchParameter,
  createR4SearchParameterRegistry,
  FhirError,
  parseSearch,
} from '../src/index.ts';

const URL = 'https://example.org/fhir/SearchParameter/patient-mothers-maiden-name';

function mothersMaidenName(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'SearchParameter',
    url: URL,
    status: 'active',
    code: 'mothers-maiden-name',
    base: ['Patient'],
    type: 'string',
    expression:
      "Patient.extension.where(url = 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName').value",
    ...overrides,
  };
}

function problems(resource: Record<string, unknown>): { status: number; expression: unknown[] } {
  try {
    checkCustomSearchParameter(resource, createR4SearchParameterRegistry());
  } catch (error) {
    if (!(error instanceof FhirError)) throw error;
    return { status: error.status, expression: error.issues.flatMap((issue) => issue.expression ?? []) };
  }
  throw new Error('the check accepted it');
}

describe('checkCustomSearchParameter', () => {
  it('accepts a parameter over an extension, and one over Resource for every type', () => {
    const registry = createR4SearchParameterRegistry();
    expect(checkCustomSearchParameter(mothersMaidenName(), registry)).toMatchObject({
      code: 'mothers-maiden-name',
      base: ['Patient'],
    });
    expect(
      checkCustomSearchParameter(
        mothersMaidenName({
          code: 'implicit',
          base: ['Resource'],
          type: 'uri',
          expression: 'Resource.implicitRules',
        }),
        registry,
      ),
    ).toMatchObject({ base: ['Resource'] });
  });

  it.each([
    [{ expression: 'Patient.name.where(' }, 'SearchParameter.expression'],
    [{ expression: 'Patient.mothersName' }, 'SearchParameter.expression'],
    [{ expression: 'Patient.link.other.resolve().name' }, 'SearchParameter.expression'],
    [{ code: 'family' }, 'SearchParameter.code'],
    [{ code: '_custom' }, 'SearchParameter.code'],
    [{ url: undefined }, 'SearchParameter.url'],
    [{ type: 'special' }, 'SearchParameter.type'],
    [{ target: ['Nowhere'] }, 'SearchParameter.target[0]'],
  ])('refuses %j with 422 naming %s', (overrides, expression) => {
    expect(problems(mothersMaidenName(overrides))).toEqual({ status: 422, expression: [expression] });
  });
});

describe('a registry with custom parameters', () => {
  it('refuses a search on a parameter still being indexed, then accepts it, and forgets a removed one', () => {
    const registry = createR4SearchParameterRegistry();
    const version = registry.version;
    registry.add(mothersMaidenName(), { indexingBases: ['Patient'] });
    expect(registry.version).toBeGreaterThan(version);
    const pending = parseSearch(
      { resourceType: 'Patient', pairs: [['mothers-maiden-name', 'Smith']] },
      registry,
    );
    expect(pending.issues).toEqual([
      expect.objectContaining({ code: 'not-supported', expression: ['mothers-maiden-name'] }),
    ]);
    expect(
      parseSearch({ resourceType: 'Patient', pairs: [['_sort', 'mothers-maiden-name']] }, registry).issues,
    ).toHaveLength(1);

    registry.add(mothersMaidenName());
    const ready = parseSearch(
      { resourceType: 'Patient', pairs: [['mothers-maiden-name', 'Smith']] },
      registry,
    );
    expect(ready.issues).toEqual([]);
    expect(ready.query.filters).toEqual([
      expect.objectContaining({ kind: 'string', code: 'mothers-maiden-name' }),
    ]);

    expect(registry.remove(URL)).toBe(true);
    expect(registry.get('Patient', 'mothers-maiden-name')).toBeUndefined();
    expect(registry.get('Patient', 'family')).toBeDefined();
    expect(registry.remove(URL)).toBe(false);
  });
});
