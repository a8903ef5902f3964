/**
 * A small ICD-10 and ICPC-2 with a map between them and a stored ValueSet, loaded through the
 * real loader and the REST API: enough hierarchy for subsumption (J45 → J45.0, J45.1, J45.9), a
 * retired code (J45.8), a Norwegian designation, and an ICPC-2 → ICD-10 ConceptMap.
 */
import type { ConceptRecord } from '../../src/terminology/code-system-content.ts';
import { codeSystemContent, conceptMapContent } from '../../src/terminology/in-memory-content.ts';
import { loadCodeSystem, loadConceptMap } from '../../src/terminology/load-code-system.ts';
import { FHIR_JSON, type TestApp } from '../support/test-app.ts';

export const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
export const ICPC2 = 'http://hl7.org/fhir/sid/icpc-2';
export const SNOMED = 'http://snomed.info/sct';
export const ASTHMA_VALUE_SET = 'https://concordia.example/fhir/ValueSet/asthma';
export const ICPC2_TO_ICD10 = 'https://concordia.example/fhir/ConceptMap/icpc2-icd10';

const ICD10_CONCEPTS: ConceptRecord[] = [
  { code: 'J40-J47', display: 'Chronic lower respiratory diseases', parents: [], selectable: false },
  {
    code: 'J45',
    display: 'Asthma',
    parents: ['J40-J47'],
    designations: [{ language: 'nb', value: 'Astma' }],
  },
  { code: 'J45.0', display: 'Predominantly allergic asthma', parents: ['J45'] },
  { code: 'J45.1', display: 'Nonallergic asthma', parents: ['J45'] },
  { code: 'J45.9', display: 'Asthma, unspecified', parents: ['J45'] },
  { code: 'J45.8', display: 'Mixed asthma', parents: ['J45'], active: false },
  { code: 'J44', display: 'Other chronic obstructive pulmonary disease', parents: ['J40-J47'] },
  { code: 'I10', display: 'Essential (primary) hypertension', parents: [] },
];

const ICPC2_CONCEPTS: ConceptRecord[] = [
  { code: 'R', display: 'Respiratory', parents: [], selectable: false },
  { code: 'R96', display: 'Asthma', parents: ['R'] },
  { code: 'K', display: 'Circulatory', parents: [], selectable: false },
  { code: 'K86', display: 'Hypertension uncomplicated', parents: ['K'] },
  { code: 'K87', display: 'Hypertension complicated', parents: ['K'] },
];

export async function loadTerminologyFixture(t: TestApp): Promise<void> {
  await loadCodeSystem(
    t.database,
    codeSystemContent(
      {
        url: ICD10,
        version: '2019',
        name: 'ICD10',
        title: 'ICD-10',
        language: 'en',
        hierarchyMeaning: 'is-a',
      },
      ICD10_CONCEPTS,
    ),
  );
  await loadCodeSystem(
    t.database,
    codeSystemContent(
      { url: ICPC2, version: '2', name: 'ICPC2', title: 'ICPC-2', language: 'en', hierarchyMeaning: 'is-a' },
      ICPC2_CONCEPTS,
    ),
  );
  await loadConceptMap(
    t.database,
    conceptMapContent({ url: ICPC2_TO_ICD10, version: '1', name: 'ICPC2toICD10' }, [
      {
        source: { system: ICPC2, code: 'R96', display: 'Asthma' },
        target: { system: ICD10, code: 'J45', display: 'Asthma' },
        equivalence: 'equivalent',
      },
      {
        source: { system: ICPC2, code: 'K86', display: 'Hypertension uncomplicated' },
        target: { system: ICD10, code: 'I10', display: 'Essential (primary) hypertension' },
        equivalence: 'equivalent',
      },
      { source: { system: ICPC2, code: 'K87' }, equivalence: 'unmatched' },
    ]),
  );
  const response = await t.app.inject({
    method: 'PUT',
    url: '/fhir/ValueSet/asthma',
    headers: FHIR_JSON,
    payload: asthmaValueSet(),
  });
  if (response.statusCode !== 201 && response.statusCode !== 200) {
    throw new Error(`storing ValueSet/asthma failed: ${response.statusCode} ${response.body}`);
  }
}

/** Every ICD-10 code that is an asthma (is-a J45). */
export function asthmaValueSet(): Record<string, unknown> {
  return {
    resourceType: 'ValueSet',
    id: 'asthma',
    url: ASTHMA_VALUE_SET,
    version: '1',
    name: 'Asthma',
    status: 'active',
    compose: { include: [{ system: ICD10, filter: [{ property: 'concept', op: 'is-a', value: 'J45' }] }] },
  };
}
