/**
 * The common searches use the lookup indexes (PostgreSQL only: plans are the point, and PGlite
 * plans are not what production runs). Several thousand generated resources, then ANALYZE, then
 * EXPLAIN (FORMAT JSON) of the statement the store would run for each search: no sequential scan
 * of an index table or of `resource`, and the filter's lookup index in the plan. Plan shape only,
 * never timing. Under CONCORDIA_REQUIRE_ALL=1 a missing DATABASE_URL fails (testDatabases).
 */
import { type IdentifiedResource, indexResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/access/request-context.ts';
import type { Database } from '../../src/store/database.ts';
import type { ResourceStore } from '../../src/store/port.ts';
import { createResourceStore } from '../../src/store/resource-store.ts';
import { sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';
import { firstPageSearch, firstPageStatement } from '../support/first-page-statement.ts';

const postgres = testDatabases().find((database) => database.name === 'postgres');
const ctx = systemContext('search-plans');

const PATIENTS = 2_000;
const OBSERVATIONS_PER_PATIENT = 4;
const ENCOUNTERS_PER_PATIENT = 2;
const ALLERGY_EVERY = 3;
const LOINC = 'http://loinc.org';
const NATIONAL_ID = 'https://concordia.example/national-id';
const FAMILIES = [
  'Kovalenko',
  'Shevchenko',
  'Bondarenko',
  'Tkachenko',
  'Kravchenko',
  'Oliynyk',
  'Melnyk',
  'Boyko',
];

const patientId = (n: number) => `p${n}`;
const code = (n: number) => `${1000 + (n % 200)}-${n % 10}`;
/** One day per encounter from 2015 on: `ge` on a late date is selective. */
const encounterStart = (n: number) => new Date(Date.UTC(2015, 0, 1) + n * 86_400_000).toISOString();

function generated(): IdentifiedResource[] {
  const resources: IdentifiedResource[] = [];
  for (let p = 0; p < PATIENTS; p++) {
    const subject = { reference: `Patient/${patientId(p)}` };
    resources.push({
      resourceType: 'Patient',
      id: patientId(p),
      identifier: [{ system: NATIONAL_ID, value: `ID-${p}` }],
      name: [{ family: `${FAMILIES[p % FAMILIES.length]}${p}`, given: [`Given${p % 97}`] }],
      gender: p % 2 === 0 ? 'female' : 'male',
      birthDate: `19${String(30 + (p % 70)).padStart(2, '0')}-01-01`,
    });
    for (let o = 0; o < OBSERVATIONS_PER_PATIENT; o++) {
      const n = p * OBSERVATIONS_PER_PATIENT + o;
      resources.push({
        resourceType: 'Observation',
        id: `o${n}`,
        status: 'final',
        code: { coding: [{ system: LOINC, code: code(n) }] },
        subject,
        effectiveDateTime: encounterStart(n % 3000),
        valueQuantity: { value: n % 150, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
      });
    }
    for (let e = 0; e < ENCOUNTERS_PER_PATIENT; e++) {
      const n = p * ENCOUNTERS_PER_PATIENT + e;
      resources.push({
        resourceType: 'Encounter',
        id: `e${n}`,
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject,
        period: { start: encounterStart(n), end: encounterStart(n).replace('T00:00', 'T01:00') },
      });
    }
    if (p % ALLERGY_EVERY === 0) {
      resources.push({
        resourceType: 'AllergyIntolerance',
        id: `a${p}`,
        patient: subject,
        code: { coding: [{ system: 'http://snomed.info/sct', code: '300916003' }] },
      });
    }
  }
  return resources;
}

/** Every plan node, depth first. */
function planNodes(plan: unknown): Record<string, unknown>[] {
  if (typeof plan !== 'object' || plan === null) return [];
  if (Array.isArray(plan)) return plan.flatMap(planNodes);
  const node = Object.fromEntries(Object.entries(plan));
  const children = Array.isArray(node.Plans) ? node.Plans.flatMap(planNodes) : [];
  return 'Node Type' in node ? [node, ...children] : [...planNodes(node.Plan), ...children];
}

const INDEXED_TABLES = ['resource', 'search_token', 'search_string', 'search_reference', 'search_date'];

describe.skipIf(postgres === undefined)('search plans on PostgreSQL use the lookup indexes', () => {
  let db: Database;
  let store: ResourceStore;

  beforeAll(async () => {
    if (postgres === undefined) return;
    db = await postgres.create();
    store = createResourceStore(db, indexResource);
    const resources = generated();
    for (let start = 0; start < resources.length; start += 500) {
      await store.transact(ctx, async (tx) => {
        for (const resource of resources.slice(start, start + 500)) {
          await tx.apply(ctx, { kind: 'write', method: 'PUT', resource });
        }
      });
    }
    await store.refreshStatistics();
  }, 300_000);

  afterAll(async () => {
    await store?.close();
  });

  /** The plan of the first page of `Type?query` exactly as the store would run it. */
  async function plan(resourceType: string, query: string): Promise<Record<string, unknown>[]> {
    const { search, issues } = firstPageSearch(resourceType, query);
    expect(issues).toEqual([]);
    const statement = firstPageStatement(search);
    const [row] = await db.query(sql`explain (format json) ${statement}`);
    const cell = row?.['QUERY PLAN'];
    return planNodes(typeof cell === 'string' ? JSON.parse(cell) : cell);
  }

  function describePlan(nodes: Record<string, unknown>[]): string {
    return nodes
      .map((node) => `${node['Node Type']} ${node['Relation Name'] ?? ''} ${node['Index Name'] ?? ''}`)
      .join('\n');
  }

  /** Type, query, and the lookup indexes of which the plan must use one (with two filters, either may drive). */
  const searches: [string, string, string[]][] = [
    ['Patient', 'name=Shevchenko1', ['search_string_lookup']],
    ['Patient', `identifier=${NATIONAL_ID}|ID-42`, ['search_token_lookup']],
    [
      'Observation',
      `code=${LOINC}|${code(7)}&patient=Patient/${patientId(7)}`,
      ['search_token_lookup', 'search_reference_lookup'],
    ],
    ['AllergyIntolerance', `patient=Patient/${patientId(9)}`, ['search_reference_lookup']],
    [
      'Encounter',
      `date=ge${encounterStart(PATIENTS * ENCOUNTERS_PER_PATIENT - 20).slice(0, 10)}`,
      ['search_date_lookup'],
    ],
    ['Observation', 'subject:Patient.name=Kovalenko8', ['search_string_lookup']],
    // Several target types (Group, Device, Location, Patient): one branch per type, each with its
    // type as a constant, so every inner filter can use its lookup index.
    ['Observation', 'subject.name=Kovalenko8', ['search_string_lookup']],
    ['Patient', `_has:Observation:patient:code=${LOINC}|${code(11)}`, ['search_token_lookup']],
    // Two levels (Observation.encounter is Encounter or EpisodeOfCare; Encounter.patient a Patient).
    ['Observation', `encounter.patient.name=Kovalenko8&code=${LOINC}|${code(3)}`, ['search_string_lookup']],
  ];

  for (const [resourceType, query, lookupIndexes] of searches) {
    it(`${resourceType}?${query} uses ${lookupIndexes.join(' or ')} and scans no table sequentially`, async () => {
      const nodes = await plan(resourceType, query);
      const text = describePlan(nodes);
      const sequential = nodes.filter(
        (node) => node['Node Type'] === 'Seq Scan' && INDEXED_TABLES.includes(String(node['Relation Name'])),
      );
      expect(sequential, text).toEqual([]);
      const used = nodes.map((node) => String(node['Index Name']));
      expect(
        lookupIndexes.filter((index) => used.includes(index)),
        text,
      ).not.toEqual([]);
    });
  }

  // search.html#chaining: targets are known from their index rows (index rows exist only for
  // current resources), computed once as an array, so no Encounter or Patient row is read and the
  // planner gets small, separate subqueries instead of one join over every level.
  it('computes a chain from the index rows of its targets, once, without reading them', async () => {
    const nodes = await plan('Observation', 'encounter.patient.name=Kovalenko8');
    const text = describePlan(nodes);
    const resourceReads = nodes.filter((node) => node['Relation Name'] === 'resource');
    // The only resource rows read are the page's own (search-statement.ts `indexPageStatement`).
    expect(
      resourceReads.map((node) => node.Alias),
      text,
    ).toEqual(['found']);
    expect(
      nodes.some((node) => String(node['Subplan Name']).startsWith('InitPlan')),
      text,
    ).toBe(true);
  });

  // The page's ids come from index rows (filter-sql.ts `filterRows`) with the other filters as
  // semi-joins on them; a resource row is read only once the page is cut: under no `Limit`.
  for (const [resourceType, query] of [
    ['Observation', `subject:Patient.name=Kovalenko8&code=${LOINC}|${code(3)}`],
    ['Observation', `patient=Patient/${patientId(7)}&code=${LOINC}|${code(7)}&date=ge2015-01-01`],
    ['Patient', 'birthdate=ge1960-01-01&gender=female'],
  ] as const) {
    it(`${resourceType}?${query} reads no resource row before the page is cut`, async () => {
      const [tree] = await plan(resourceType, query);
      const limit = findNode(tree, 'Limit');
      const text = describePlan(planNodes(tree));
      expect(limit, text).toBeDefined();
      expect(
        planNodes(limit).filter((node) => node['Relation Name'] === 'resource'),
        text,
      ).toEqual([]);
      expect(
        planNodes(tree)
          .filter((node) => node['Relation Name'] === 'resource')
          .map((node) => node.Alias),
        text,
      ).toEqual(['found']);
    });
  }
});

/** The first node of `type` in `plan`, depth first. */
function findNode(plan: unknown, type: string): Record<string, unknown> | undefined {
  return planNodes(plan).find((node) => node['Node Type'] === type);
}
