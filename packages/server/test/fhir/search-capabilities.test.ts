/**
 * The CapabilityStatement says what the search does (http://hl7.org/fhir/R4/capabilitystatement.html,
 * search.html): every parameter, modifier, include and result parameter it lists is run through the
 * same parser and planner a search request goes through, and must be accepted; every registry
 * parameter and every modifier it does not list must be refused. So the statement can neither
 * claim what the search cannot do nor hide what it can.
 */
import {
  parseSearch,
  resourceTypes,
  type SearchParameterDefinition,
  type SearchParameterRegistry,
} from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planSearch } from '../../src/fhir/search-plan.ts';
import { testDatabases } from '../support/databases.ts';
import { at, createTestApp, FHIR_JSON, json, type TestApp } from '../support/test-app.ts';
import { list } from './search-helpers.ts';

const LIMITS = {
  baseUrl: 'http://fhir.test',
  updateCreate: true,
  defaultPageSize: 20,
  maxPageSize: 1000,
  maxIncludes: 1000,
  maxBundleEntries: 1000,
};

/** Every modifier of R4 (search.html#modifiers) except `:[type]`, which is checked per target. */
const R4_MODIFIERS = [
  'missing',
  'exact',
  'contains',
  'text',
  'not',
  'above',
  'below',
  'in',
  'not-in',
  'of-type',
  'identifier',
];

/** The result and general parameters of search.html#return and #all. */
const R4_RESULT_PARAMETERS = [
  '_sort',
  '_count',
  '_include',
  '_revinclude',
  '_summary',
  '_total',
  '_elements',
  '_contained',
  '_containedType',
];

/** A well-formed value for `name` (the parameter and its modifier) of a parameter of this type. */
function sampleValue(
  registry: SearchParameterRegistry,
  parameter: SearchParameterDefinition,
  modifier: string | undefined,
): string {
  if (modifier === 'missing') return 'true';
  if (parameter.code === '_text' || parameter.code === '_content') return 'fever';
  if (parameter.code === '_id') return 'abc';
  switch (parameter.type) {
    case 'token':
      if (modifier === 'of-type') return 'http://terminology.hl7.org/CodeSystem/v2-0203|MR|123';
      if (modifier === 'text') return 'fever';
      if (modifier === 'in' || modifier === 'not-in') return 'http://example.org/ValueSet/x';
      return 'http://example.org|a';
    case 'string':
      return 'abc';
    case 'reference':
      if (modifier === 'identifier') return 'http://example.org|1';
      return modifier === undefined ? `${parameter.targets[0] ?? 'Patient'}/1` : '1';
    case 'uri':
      return 'http://example.org/x';
    case 'date':
      return '2020-01-01';
    case 'number':
    case 'quantity':
      return '1';
    case 'special':
      return '42.25|-83.69|10|km';
    case 'composite':
      return (parameter.components ?? [])
        .map((component) => {
          const type = registry.typeOfDefinition(component.definition);
          return type === 'token' ? 'a' : type === 'date' ? '2020' : type === 'reference' ? 'Patient/1' : '1';
        })
        .join('$');
  }
}

/**
 * The issues the parser and planner report for one search, as a search request gets them.
 * Terminology filters are handed to the server's terminology service before planning
 * (fhir/search.ts); that they are resolved there is tested in test/terminology.
 */
function issuesOf(
  registry: SearchParameterRegistry,
  resourceType: string | undefined,
  pairs: [string, string][],
  terminology: boolean,
): string[] {
  const parsed = parseSearch({ ...(resourceType !== undefined ? { resourceType } : {}), pairs }, registry);
  const filters = parsed.query.filters.map((filter) =>
    terminology && filter.kind === 'terminology'
      ? { ...filter, kind: 'code-set' as const, negate: false, codes: [] }
      : filter,
  );
  const plan = planSearch({ ...parsed.query, filters }, LIMITS, {});
  return [...parsed.issues, ...plan.issues].map((issue) => issue.diagnostics ?? issue.code);
}

/** The backquoted modifiers of a searchParam's documentation (capabilities.ts `parameterEntry`). */
function documentedModifiers(documentation: string): string[] {
  const line = /Modifiers: ([^.]*)\./.exec(documentation)?.[1] ?? '';
  return [...line.matchAll(/`:([^`]+)`/g)].map((match) => match[1] ?? '');
}

const [database] = testDatabases();

describe('the CapabilityStatement and the search agree (capabilitystatement.html, search.html)', () => {
  let t: TestApp;
  let statement: Record<string, unknown>;
  let registry: SearchParameterRegistry;
  beforeAll(async () => {
    if (database === undefined) throw new Error('no test database');
    t = await createTestApp(database);
    // A custom parameter is listed only once a reindex covered Patient (docs/search.md); until then
    // the search refuses it as being indexed, and the statement must not list it either.
    const created = await t.app.inject({
      method: 'POST',
      url: '/fhir/SearchParameter',
      headers: FHIR_JSON,
      payload: {
        resourceType: 'SearchParameter',
        url: 'http://example.org/SearchParameter/patient-nickname',
        name: 'nickname',
        status: 'active',
        description: 'A nickname',
        code: 'nickname',
        base: ['Patient'],
        type: 'string',
        expression: "Patient.name.where(use = 'nickname').given",
      },
    });
    expect(created.statusCode).toBe(201);
    registry = t.searchParameters.registry;
    statement = json((await t.app.inject({ method: 'GET', url: '/fhir/metadata' })).body);
  });
  afterAll(async () => {
    await t?.close();
  });

  // Types another component serves (AuditEvent from the audit table, audit-event-reader.ts) replace
  // their entry with their own; they are read-only, which is how they are told apart here.
  const resources = () =>
    list(at(statement, 'rest', 0, 'resource')).filter((resource) =>
      list(at(resource, 'interaction')).some((interaction) => at(interaction, 'code') === 'create'),
    );
  const terminology = () =>
    list(
      at(
        resources().find((r) => at(r, 'type') === 'Condition'),
        'searchParam',
      ),
    ).some((p) => documentedModifiers(String(at(p, 'documentation'))).includes('in'));

  it('lists every resource type, and for each exactly the parameters the search accepts', () => {
    const listed = list(at(statement, 'rest', 0, 'resource')).map((resource) => at(resource, 'type'));
    expect(listed).toEqual(resourceTypes());
    const wrong: string[] = [];
    for (const resource of resources()) {
      const type = String(at(resource, 'type'));
      const listed = new Map(list(at(resource, 'searchParam')).map((p) => [String(at(p, 'name')), p]));
      for (const parameter of registry.forType(type)) {
        const accepted =
          issuesOf(registry, type, [[parameter.code, sampleValue(registry, parameter, undefined)]], true)
            .length === 0;
        const entry = listed.get(parameter.code);
        if (accepted !== (entry !== undefined)) wrong.push(`${type}.${parameter.code} accepted=${accepted}`);
        if (entry !== undefined && at(entry, 'type') !== parameter.type)
          wrong.push(`${type}.${parameter.code} type`);
        listed.delete(parameter.code);
      }
      wrong.push(...[...listed.keys()].map((code) => `${type}.${code} is not in the registry`));
    }
    expect(wrong).toEqual([]);
  });

  it('documents exactly the modifiers the search accepts on each parameter (search.html#modifiers)', () => {
    const withTerminology = terminology();
    const wrong: string[] = [];
    let checked = 0;
    for (const resource of resources()) {
      const type = String(at(resource, 'type'));
      for (const entry of list(at(resource, 'searchParam'))) {
        const code = String(at(entry, 'name'));
        const parameter = registry.get(type, code);
        if (parameter === undefined) continue;
        const documented = new Set(documentedModifiers(String(at(entry, 'documentation'))));
        const candidates = new Set([...R4_MODIFIERS, ...parameter.targets, ...documented]);
        for (const modifier of candidates) {
          const issues = issuesOf(
            registry,
            type,
            [[`${code}:${modifier}`, sampleValue(registry, parameter, modifier)]],
            withTerminology,
          );
          checked++;
          if ((issues.length === 0) !== documented.has(modifier)) {
            wrong.push(
              `${type}.${code}:${modifier} documented=${documented.has(modifier)} ${issues.join('; ')}`,
            );
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(10_000);
  });

  it('documents the terminology modifiers on token parameters when a terminology service is configured', () => {
    const code = list(
      at(
        resources().find((r) => at(r, 'type') === 'Condition'),
        'searchParam',
      ),
    ).find((p) => at(p, 'name') === 'code');
    expect(documentedModifiers(String(at(code, 'documentation')))).toEqual(
      expect.arrayContaining(['not', 'text', 'of-type', 'missing', 'in', 'not-in', 'above', 'below']),
    );
  });

  it('does not list a custom parameter the search refuses as being indexed', () => {
    expect(registry.get('Patient', 'nickname')?.indexing).toBe(true);
    expect(issuesOf(registry, 'Patient', [['nickname', 'Bob']], true)).toHaveLength(1);
    const patient = resources().find((r) => at(r, 'type') === 'Patient');
    expect(list(at(patient, 'searchParam')).map((p) => at(p, 'name'))).not.toContain('nickname');
  });

  it('lists as searchInclude and searchRevInclude what _include and _revinclude accept (search.html#include)', () => {
    const wrong: string[] = [];
    for (const resource of resources()) {
      const type = String(at(resource, 'type'));
      const includes = list(at(resource, 'searchInclude')).map(String);
      const revIncludes = list(at(resource, 'searchRevInclude')).map(String);
      for (const value of includes) {
        if (issuesOf(registry, type, [['_include', value]], true).length > 0)
          wrong.push(`${type} _include=${value}`);
      }
      for (const value of revIncludes) {
        if (issuesOf(registry, type, [['_revinclude', value]], true).length > 0)
          wrong.push(`${type} _revinclude=${value}`);
      }
      // Every reference parameter of the type can be included, and every one pointing at it rev-included.
      for (const parameter of registry.forType(type)) {
        if (parameter.type !== 'reference' || parameter.indexing === true) continue;
        if (!includes.includes(`${type}:${parameter.code}`))
          wrong.push(`${type}:${parameter.code} not in searchInclude`);
      }
    }
    const byType = new Map(resources().map((resource) => [String(at(resource, 'type')), resource]));
    for (const source of byType.keys()) {
      for (const parameter of registry.forType(source)) {
        if (parameter.type !== 'reference') continue;
        for (const target of parameter.targets) {
          if (!byType.has(target)) continue;
          const listed = list(at(byType.get(target), 'searchRevInclude'));
          if (!listed.includes(`${source}:${parameter.code}`))
            wrong.push(`${source}:${parameter.code} not revincluded by ${target}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('lists at system level the parameters of every type and the result parameters the search accepts (search.html#return)', () => {
    const system = list(at(statement, 'rest', 0, 'searchParam')).map((p) => String(at(p, 'name')));
    for (const parameter of registry.forType('Parameters')) {
      const accepted =
        issuesOf(registry, undefined, [[parameter.code, sampleValue(registry, parameter, undefined)]], true)
          .length === 0;
      expect(system.includes(parameter.code), parameter.code).toBe(accepted);
    }
    const samples: Record<string, string> = {
      _sort: '_id',
      _count: '5',
      _include: '*',
      _revinclude: '*',
      _summary: 'true',
      _total: 'accurate',
      _elements: 'id',
      _contained: 'both',
      _containedType: 'contained',
    };
    for (const name of R4_RESULT_PARAMETERS) {
      const accepted = issuesOf(registry, 'Patient', [[name, samples[name] ?? '']], true).length === 0;
      expect(system.includes(name), name).toBe(accepted);
    }
    expect(system).toEqual(expect.arrayContaining(['_type', '_has', '_list']));
    expect(issuesOf(registry, undefined, [['_type', 'Patient,Observation']], true)).toEqual([]);
  });
});
