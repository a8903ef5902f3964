/**
 * A small hand-written slice of ICD-10 (WHO) and ICPC-2 (WONCA), with Norwegian ICPC-2
 * designations and an ICPC-2 → ICD-10 map, so that `npm start` answers $lookup, $validate-code,
 * $expand and $translate offline for every diagnosis the demo patients carry (clinical-catalogue.ts).
 * The product ships importers, not WHO/WONCA content: an operator loads the official releases
 * (docs/terminology.md), which then become the current version beside this `demo` one.
 * Written as FHIR resources and stored through the core, so they reach the concept tables the
 * way any client's CodeSystem does (terminology-write-hooks.ts).
 */
import type { FhirResource } from '@concordia/fhir';
import { SYSTEMS } from './clinical-catalogue.ts';

/** [code, display, parent code, Norwegian display (ICPC-2)]; chapters and blocks are not selectable. */
type Row = readonly [code: string, display: string, parent?: string, norwegian?: string];

const ICD10_ROWS: readonly Row[] = [
  [
    'III',
    'Diseases of the blood and blood-forming organs and certain disorders involving the immune mechanism',
  ],
  ['D50-D53', 'Nutritional anaemias', 'III'],
  ['D50', 'Iron deficiency anaemia', 'D50-D53'],
  ['D50.0', 'Iron deficiency anaemia secondary to blood loss (chronic)', 'D50'],
  ['D50.9', 'Iron deficiency anaemia, unspecified', 'D50'],
  ['IV', 'Endocrine, nutritional and metabolic diseases'],
  ['E10-E14', 'Diabetes mellitus', 'IV'],
  ['E10', 'Type 1 diabetes mellitus', 'E10-E14'],
  ['E11', 'Type 2 diabetes mellitus', 'E10-E14'],
  ['E11.9', 'Type 2 diabetes mellitus without complications', 'E11'],
  ['E70-E90', 'Metabolic disorders', 'IV'],
  ['E78', 'Disorders of lipoprotein metabolism and other lipidaemias', 'E70-E90'],
  ['E78.0', 'Pure hypercholesterolaemia', 'E78'],
  ['E78.5', 'Hyperlipidaemia, unspecified', 'E78'],
  ['V', 'Mental and behavioural disorders'],
  ['F30-F39', 'Mood [affective] disorders', 'V'],
  ['F32', 'Depressive episode', 'F30-F39'],
  ['F32.9', 'Depressive episode, unspecified', 'F32'],
  ['IX', 'Diseases of the circulatory system'],
  ['I10-I15', 'Hypertensive diseases', 'IX'],
  ['I10', 'Essential (primary) hypertension', 'I10-I15'],
  ['I20-I25', 'Ischaemic heart diseases', 'IX'],
  ['I20', 'Angina pectoris', 'I20-I25'],
  ['I21', 'Acute myocardial infarction', 'I20-I25'],
  ['I25', 'Chronic ischaemic heart disease', 'I20-I25'],
  ['I25.9', 'Chronic ischaemic heart disease, unspecified', 'I25'],
  ['X', 'Diseases of the respiratory system'],
  ['J00-J06', 'Acute upper respiratory infections', 'X'],
  ['J06', 'Acute upper respiratory infections of multiple and unspecified sites', 'J00-J06'],
  ['J06.9', 'Acute upper respiratory infection, unspecified', 'J06'],
  ['J09-J18', 'Influenza and pneumonia', 'X'],
  ['J18', 'Pneumonia, organism unspecified', 'J09-J18'],
  ['J18.9', 'Pneumonia, unspecified', 'J18'],
  ['J20-J22', 'Other acute lower respiratory infections', 'X'],
  ['J20', 'Acute bronchitis', 'J20-J22'],
  ['J20.9', 'Acute bronchitis, unspecified', 'J20'],
  ['J40-J47', 'Chronic lower respiratory diseases', 'X'],
  ['J44', 'Other chronic obstructive pulmonary disease', 'J40-J47'],
  ['J44.9', 'Chronic obstructive pulmonary disease, unspecified', 'J44'],
  ['J45', 'Asthma', 'J40-J47'],
  ['J45.0', 'Predominantly allergic asthma', 'J45'],
  ['J45.9', 'Asthma, unspecified', 'J45'],
  ['XIII', 'Diseases of the musculoskeletal system and connective tissue'],
  ['M15-M19', 'Arthrosis', 'XIII'],
  ['M17', 'Gonarthrosis [arthrosis of knee]', 'M15-M19'],
  ['M17.9', 'Gonarthrosis, unspecified', 'M17'],
  ['M50-M54', 'Other dorsopathies', 'XIII'],
  ['M54', 'Dorsalgia', 'M50-M54'],
  ['M54.5', 'Low back pain', 'M54'],
  ['XIV', 'Diseases of the genitourinary system'],
  ['N30-N39', 'Other diseases of urinary system', 'XIV'],
  ['N39', 'Other disorders of urinary system', 'N30-N39'],
  ['N39.0', 'Urinary tract infection, site not specified', 'N39'],
];

const ICPC2_ROWS: readonly Row[] = [
  [
    'B',
    'Blood, blood forming organs and immune mechanism',
    undefined,
    'Blod, bloddannende organer og immunsystemet',
  ],
  ['B80', 'Iron deficiency anaemia', 'B', 'Jernmangelanemi'],
  ['K', 'Cardiovascular', undefined, 'Hjerte og kar'],
  ['K74', 'Ischaemic heart disease with angina', 'K', 'Angina pectoris'],
  ['K76', 'Ischaemic heart dis without angina', 'K', 'Iskemisk hjertesykdom uten angina'],
  ['K86', 'Hypertension uncomplicated', 'K', 'Hypertensjon ukomplisert'],
  ['K87', 'Hypertension complicated', 'K', 'Hypertensjon med organkomplikasjoner'],
  ['L', 'Musculoskeletal', undefined, 'Muskel- og skjelettsystemet'],
  ['L03', 'Low back symptom/complaint', 'L', 'Korsryggsymptomer/-plager'],
  ['L90', 'Osteoarthrosis of knee', 'L', 'Kneartrose'],
  ['P', 'Psychological', undefined, 'Psykisk'],
  ['P76', 'Depressive disorder', 'P', 'Depresjon'],
  ['R', 'Respiratory', undefined, 'Luftveier'],
  ['R05', 'Cough', 'R', 'Hoste'],
  ['R74', 'Upper respiratory infection acute', 'R', 'Akutt øvre luftveisinfeksjon'],
  ['R78', 'Acute bronchitis/bronchiolitis', 'R', 'Akutt bronkitt/bronkiolitt'],
  ['R81', 'Pneumonia', 'R', 'Lungebetennelse'],
  ['R95', 'Chronic obstructive pulmonary dis', 'R', 'Kronisk obstruktiv lungesykdom'],
  ['R96', 'Asthma', 'R', 'Astma'],
  ['T', 'Endocrine/metabolic and nutritional', undefined, 'Endokrine, metabolske og ernæringsmessige'],
  ['T89', 'Diabetes insulin dependent', 'T', 'Diabetes type 1'],
  ['T90', 'Diabetes non-insulin dependent', 'T', 'Diabetes type 2'],
  ['T93', 'Lipid disorder', 'T', 'Lipidforstyrrelse'],
  ['U', 'Urological', undefined, 'Urinveier'],
  ['U71', 'Cystitis/urinary infection other', 'U', 'Cystitt/urinveisinfeksjon IKA'],
];

/** ICPC-2 → ICD-10 as the published conversion tables pair them (source, target, equivalence). */
const ICPC2_TO_ICD10: readonly (readonly [string, string, string])[] = [
  ['B80', 'D50.9', 'equivalent'],
  ['K74', 'I20', 'wider'],
  ['K76', 'I25.9', 'equivalent'],
  ['K86', 'I10', 'equivalent'],
  ['L03', 'M54.5', 'equivalent'],
  ['L90', 'M17.9', 'equivalent'],
  ['P76', 'F32.9', 'equivalent'],
  ['R74', 'J06.9', 'equivalent'],
  ['R78', 'J20.9', 'equivalent'],
  ['R81', 'J18.9', 'equivalent'],
  ['R95', 'J44.9', 'equivalent'],
  ['R96', 'J45.9', 'wider'],
  ['R96', 'J45.0', 'wider'],
  ['T89', 'E10', 'equivalent'],
  ['T90', 'E11.9', 'wider'],
  ['T93', 'E78.5', 'wider'],
  ['T93', 'E78.0', 'wider'],
  ['U71', 'N39.0', 'wider'],
];

export const DEMO_TERMINOLOGY_VERSION = 'demo';
export const ICPC2_TO_ICD10_MAP = 'http://concordia.example/fhir/ConceptMap/icpc2-icd10-demo';

function concepts(rows: readonly Row[], parent: string | undefined): unknown[] {
  return rows
    .filter((row) => row[2] === parent)
    .map(([code, display, , norwegian]) => {
      const children = concepts(rows, code);
      const grouping = parent === undefined || code.includes('-');
      return {
        code,
        display,
        ...(norwegian !== undefined ? { designation: [{ language: 'nb', value: norwegian }] } : {}),
        ...(grouping ? { property: [{ code: 'notSelectable', valueBoolean: true }] } : {}),
        ...(children.length > 0 ? { concept: children } : {}),
      };
    });
}

function codeSystem(
  id: string,
  url: string,
  name: string,
  title: string,
  rows: readonly Row[],
): FhirResource {
  return {
    resourceType: 'CodeSystem',
    id,
    url,
    version: DEMO_TERMINOLOGY_VERSION,
    name,
    title: `${title} (demo subset)`,
    status: 'active',
    content: 'fragment',
    language: 'en',
    hierarchyMeaning: 'is-a',
    property: [
      { code: 'notSelectable', uri: 'http://hl7.org/fhir/concept-properties#notSelectable', type: 'boolean' },
    ],
    concept: concepts(rows, undefined),
  };
}

/** A transaction Bundle with the two code systems, the map and a value set of primary-care diagnoses. */
export function demoTerminologyBundle(): FhirResource {
  const resources: FhirResource[] = [
    codeSystem('demo-icd-10', SYSTEMS.icd10, 'ICD10', 'ICD-10', ICD10_ROWS),
    codeSystem('demo-icpc-2', SYSTEMS.icpc2, 'ICPC2', 'ICPC-2', ICPC2_ROWS),
    {
      resourceType: 'ConceptMap',
      id: 'demo-icpc2-icd10',
      url: ICPC2_TO_ICD10_MAP,
      version: DEMO_TERMINOLOGY_VERSION,
      name: 'ICPC2toICD10Demo',
      title: 'ICPC-2 to ICD-10 (demo subset)',
      status: 'active',
      sourceUri: `${SYSTEMS.icpc2}?vs`,
      targetUri: `${SYSTEMS.icd10}?vs`,
      group: [
        {
          source: SYSTEMS.icpc2,
          target: SYSTEMS.icd10,
          element: [...new Set(ICPC2_TO_ICD10.map(([source]) => source))].map((source) => ({
            code: source,
            target: ICPC2_TO_ICD10.filter(([from]) => from === source).map(([, code, equivalence]) => ({
              code,
              equivalence,
            })),
          })),
        },
      ],
    },
    {
      resourceType: 'ValueSet',
      id: 'demo-respiratory-diagnoses',
      url: 'http://concordia.example/fhir/ValueSet/respiratory-diagnoses',
      version: DEMO_TERMINOLOGY_VERSION,
      name: 'RespiratoryDiagnoses',
      title: 'Respiratory diagnoses (ICD-10 chapter X and ICPC-2 chapter R)',
      status: 'active',
      compose: {
        include: [
          { system: SYSTEMS.icd10, filter: [{ property: 'concept', op: 'is-a', value: 'X' }] },
          { system: SYSTEMS.icpc2, filter: [{ property: 'concept', op: 'descendent-of', value: 'R' }] },
        ],
      },
    },
  ];
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => ({
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${String(resource.id)}` },
    })),
  };
}
