/**
 * Small code systems with a known shape for the terminology tests: a fragment of ICD-10 chapter X
 * (respiratory) and of ICPC-2 chapter R, with Norwegian designations, and a map between them.
 */
import type { ConceptRecord } from '../../src/terminology/code-system-content.ts';
import { codeSystemContent, conceptMapContent } from '../../src/terminology/in-memory-content.ts';

export const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
export const ICPC2 = 'http://hl7.org/fhir/sid/icpc-2';

export function concept(
  code: string,
  display: string,
  parents: string[] = [],
  extra: Partial<ConceptRecord> = {},
): ConceptRecord {
  return { code, display, parents, ...extra };
}

/** Chapter X → block J40-J47 → J45 → J45.0/J45.1/J45.9, J44 → J44.9; J46 inactive. */
export function icd10Concepts(): ConceptRecord[] {
  return [
    concept('J45.0', 'Predominantly allergic asthma', ['J45']),
    concept('X', 'Diseases of the respiratory system', [], { selectable: false }),
    concept('J40-J47', 'Chronic lower respiratory diseases', ['X'], { selectable: false }),
    concept('J45', 'Asthma', ['J40-J47']),
    concept('J45.1', 'Nonallergic asthma', ['J45']),
    concept('J45.9', 'Asthma, unspecified', ['J45'], {
      properties: [{ code: 'note', value: { type: 'string', value: 'includes late-onset asthma' } }],
    }),
    concept('J44', 'Other chronic obstructive pulmonary disease', ['J40-J47']),
    concept('J44.9', 'Chronic obstructive pulmonary disease, unspecified', ['J44']),
    concept('J46', 'Status asthmaticus', ['J40-J47'], { active: false }),
    concept('J18.9', 'Pneumonia, unspecified', ['X']),
  ];
}

export function icd10(version = '2019') {
  return codeSystemContent(
    { url: ICD10, version, name: 'ICD10', title: 'ICD-10', language: 'en', hierarchyMeaning: 'is-a' },
    icd10Concepts(),
  );
}

export function icpc2(version = '7.0') {
  const nb = (value: string) => [{ language: 'nb', value }];
  return codeSystemContent(
    {
      url: ICPC2,
      version,
      name: 'ICPC2',
      title: 'ICPC-2',
      language: 'en',
      hierarchyMeaning: 'is-a',
      properties: [{ code: 'component', type: 'code' }],
    },
    [
      concept('R', 'Respiratory', [], { selectable: false, designations: nb('Luftveier') }),
      concept('R96', 'Asthma', ['R'], {
        designations: nb('Astma'),
        properties: [{ code: 'component', value: { type: 'code', value: '7' } }],
      }),
      concept('R95', 'Chronic obstructive pulmonary disease', ['R'], {
        designations: nb('Kronisk obstruktiv lungesykdom'),
        properties: [{ code: 'component', value: { type: 'code', value: '7' } }],
      }),
      concept('R05', 'Cough', ['R'], {
        designations: nb('Hoste'),
        properties: [{ code: 'component', value: { type: 'code', value: '1' } }],
      }),
      concept('R81', 'Pneumonia', ['R'], {
        designations: nb('Lungebetennelse'),
        properties: [{ code: 'component', value: { type: 'code', value: '7' } }],
      }),
    ],
  );
}

export const ICPC2_TO_ICD10 = 'http://concordia.example/ConceptMap/icpc2-icd10';

export function icpc2ToIcd10(version = '1') {
  const map = (source: string, target: string, equivalence: string) => ({
    source: { system: ICPC2, code: source },
    target: { system: ICD10, code: target },
    equivalence,
  });
  return conceptMapContent({ url: ICPC2_TO_ICD10, version, name: 'ICPC2toICD10' }, [
    map('R96', 'J45.9', 'wider'),
    map('R96', 'J45.0', 'wider'),
    map('R95', 'J44.9', 'equivalent'),
    map('R81', 'J18.9', 'equivalent'),
    { source: { system: ICPC2, code: 'R05' }, equivalence: 'unmatched' },
  ]);
}
