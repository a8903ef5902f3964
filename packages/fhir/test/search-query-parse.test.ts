/**
 * The search request parser (http://hl7.org/fhir/R4/search.html): filters by parameter type with
 * their modifiers and prefixes, chains, _has, result parameters, and issues instead of exceptions.
 */
import { describe, expect, it } from 'vitest';
import { parseSearch } from '../src/search/query/parse-search.ts';

const search = (resourceType: string | undefined, query: string) =>
  parseSearch({
    ...(resourceType !== undefined ? { resourceType } : {}),
    pairs: [...new URLSearchParams(query)],
  });

describe('search filters (search.html#ptypes)', () => {
  it('parses token forms and :not (search.html#token)', () => {
    const { query, issues } = search('Observation', 'code=http://loinc.org|1,|2,http://s|,3&code:not=4');
    expect(issues).toEqual([]);
    expect(query.filters).toEqual([
      {
        kind: 'token',
        parameter: 'code',
        code: 'code',
        values: [
          { system: 'http://loinc.org', code: '1' },
          { system: null, code: '2' },
          { system: 'http://s' },
          { code: '3' },
        ],
      },
      { kind: 'token', parameter: 'code:not', code: 'code', modifier: 'not', values: [{ code: '4' }] },
    ]);
  });

  it('keeps :in/:not-in/:above/:below for a terminology hook (search.html#modifiers)', () => {
    const { query } = search('Condition', 'code:below=http://snomed.info/sct|404684003');
    expect(query.filters[0]).toMatchObject({ kind: 'terminology', modifier: 'below' });
  });

  it('parses string modes and unescapes (search.html#string, #escaping)', () => {
    const { query } = search('Patient', 'family:exact=a\\,b,c&given:contains=x\\|y&name=z');
    expect(query.filters).toEqual([
      { kind: 'string', parameter: 'family:exact', code: 'family', match: 'exact', values: ['a,b', 'c'] },
      { kind: 'string', parameter: 'given:contains', code: 'given', match: 'contains', values: ['x|y'] },
      { kind: 'string', parameter: 'name', code: 'name', match: 'starts-with', values: ['z'] },
    ]);
  });

  it('parses reference forms (search.html#reference)', () => {
    const { query, issues } = search(
      'Observation',
      'subject=Patient/1,2,http://x.org/fhir/Patient/3/_history/4&subject:Patient=5&subject:identifier=s|v',
    );
    expect(issues).toEqual([]);
    expect(query.filters).toEqual([
      {
        kind: 'reference',
        parameter: 'subject',
        code: 'subject',
        values: [
          { type: 'Patient', id: '1' },
          { id: '2' },
          { type: 'Patient', id: '3', url: 'http://x.org/fhir/Patient/3/_history/4' },
        ],
      },
      {
        kind: 'reference',
        parameter: 'subject:Patient',
        code: 'subject',
        values: [{ type: 'Patient', id: '5' }],
      },
      {
        kind: 'reference-identifier',
        parameter: 'subject:identifier',
        code: 'subject',
        values: [{ system: 's', code: 'v' }],
      },
    ]);
  });

  it('reads dates as precision ranges with prefixes (search.html#date, #prefix)', () => {
    const { query } = search('Patient', 'birthdate=ge2020&birthdate=lt2020-02-03T10:00%2B02:00');
    expect(query.filters).toEqual([
      {
        kind: 'date',
        parameter: 'birthdate',
        code: 'birthdate',
        values: [
          { prefix: 'ge', low: '2020-01-01T00:00:00.000Z', high: '2021-01-01T00:00:00.000Z', text: '2020' },
        ],
      },
      {
        kind: 'date',
        parameter: 'birthdate',
        code: 'birthdate',
        values: [
          {
            prefix: 'lt',
            low: '2020-02-03T08:00:00.000Z',
            high: '2020-02-03T08:01:00.000Z',
            text: '2020-02-03T10:00+02:00',
          },
        ],
      },
    ]);
  });

  it('keeps years 0001–0099 as written (datatypes.html#date: YYYY is 0001–9999)', () => {
    const { query, issues } = search('Patient', 'birthdate=0099-01-01&birthdate=0050');
    expect(issues).toEqual([]);
    expect(query.filters.map((filter) => (filter.kind === 'date' ? filter.values : []))).toEqual([
      [
        {
          prefix: 'eq',
          low: '0099-01-01T00:00:00.000Z',
          high: '0099-01-02T00:00:00.000Z',
          text: '0099-01-01',
        },
      ],
      [{ prefix: 'eq', low: '0050-01-01T00:00:00.000Z', high: '0051-01-01T00:00:00.000Z', text: '0050' }],
    ]);
  });

  it.each([
    '2021-02-30T10:00Z',
    '2021-02-29',
    '2021-04-31T10:00:00Z',
    '2021-13',
    '2021-00-10',
    '2021-03-15T24:00Z',
    '2021-03-15T10:60Z',
    '2021-03-15T10:30:60Z',
    '0000',
    'ge0000-06-01',
  ])('reports %s, a date the calendar does not have, as malformed (datatypes.html#dateTime)', (value) => {
    const { query, issues } = search('Patient', `birthdate=${encodeURIComponent(value)}`);
    expect(query.filters).toEqual([]);
    expect(issues).toEqual([
      expect.objectContaining({ severity: 'error', code: 'invalid', expression: ['birthdate'] }),
    ]);
  });

  it('accepts 29 February in a leap year, including years before 100 (datatypes.html#date)', () => {
    const { issues } = search('Patient', 'birthdate=2024-02-29T10:00Z&birthdate=0004-02-29');
    expect(issues).toEqual([]);
  });

  it('reads numbers and quantities with their implied precision (search.html#number, #quantity)', () => {
    const { query } = search('RiskAssessment', 'probability=gt0.8');
    expect(query.filters[0]).toMatchObject({ kind: 'number', values: [{ prefix: 'gt', value: '0.8' }] });
    const quantity = search('Observation', 'value-quantity=ap5.4|http://unitsofmeasure.org|mg').query;
    expect(quantity.filters[0]).toMatchObject({
      kind: 'quantity',
      values: [{ prefix: 'ap', value: '5.4', system: 'http://unitsofmeasure.org', code: 'mg' }],
    });
  });

  it('parses :missing for any type and uri :below (search.html#missing, #uri)', () => {
    const { query } = search('ValueSet', 'url:below=http://acme.org/fhir&title:missing=true');
    expect(query.filters).toEqual([
      { kind: 'uri', parameter: 'url:below', code: 'url', match: 'below', values: ['http://acme.org/fhir'] },
      { kind: 'missing', parameter: 'title:missing', code: 'title', type: 'string', missing: true },
    ]);
  });
});

describe('chains and reverse chains (search.html#chaining, #has)', () => {
  it('parses a typed chain and narrows an untyped one to the targets that have the parameter', () => {
    const typed = search('Observation', 'subject:Patient.name=peter').query.filters[0];
    expect(typed).toMatchObject({
      kind: 'chain',
      code: 'subject',
      targetTypes: ['Patient'],
      inner: { kind: 'string', code: 'name' },
    });
    const untyped = search('Observation', 'subject.birthdate=2000').query.filters[0];
    expect(untyped).toMatchObject({ kind: 'chain', targetTypes: ['Patient'] });
  });

  it('parses multi-level chains and nested _has', () => {
    const chain = search('Observation', 'subject:Patient.general-practitioner:Practitioner.name=x').query
      .filters[0];
    expect(chain).toMatchObject({ kind: 'chain', inner: { kind: 'chain', targetTypes: ['Practitioner'] } });
    const has = search('Patient', '_has:Observation:patient:_has:AuditEvent:entity:agent=MyUserId').query
      .filters[0];
    expect(has).toMatchObject({
      kind: 'has',
      sourceType: 'Observation',
      referenceParam: 'patient',
      inner: {
        kind: 'has',
        sourceType: 'AuditEvent',
        referenceParam: 'entity',
        inner: { kind: 'reference' },
      },
    });
  });
});

describe('result parameters (search.html#return)', () => {
  it('parses _count, _sort, _total, _summary, _elements, _include and _revinclude', () => {
    const { query, issues } = search(
      'Observation',
      '_count=5&_sort=-date,code&_total=accurate&_summary=true&_elements=code,subject' +
        '&_include=Observation:subject:Patient&_revinclude:iterate=Provenance:target',
    );
    expect(issues).toEqual([]);
    expect(query).toMatchObject({
      count: 5,
      sort: [
        { code: 'date', type: 'date', descending: true },
        { code: 'code', type: 'token', descending: false },
      ],
      total: 'accurate',
      summary: 'true',
      elements: ['code', 'subject'],
      includes: [
        {
          reverse: false,
          iterate: false,
          sourceType: 'Observation',
          param: 'subject',
          targetType: 'Patient',
        },
        { reverse: true, iterate: true, sourceType: 'Provenance', param: 'target' },
      ],
    });
  });

  it('reads _type for a system search, and without it allows only Resource parameters', () => {
    expect(search(undefined, '_type=Patient,Practitioner&name=x').query).toMatchObject({
      resourceTypes: ['Patient', 'Practitioner'],
      allTypes: false,
      filters: [{ kind: 'string' }],
    });
    const all = search(undefined, '_id=1&name=x');
    expect(all.query.allTypes).toBe(true);
    expect(all.query.filters).toHaveLength(1);
    expect(all.issues).toEqual([expect.objectContaining({ expression: ['name'] })]);
  });
});

describe('issues instead of exceptions (search.html#errors)', () => {
  it.each([
    ['Patient', 'shoe-size=42', 'shoe-size', 'invalid'],
    ['Patient', 'birthdate=yesterday', 'birthdate', 'invalid'],
    ['Patient', 'family:near=x', 'family:near', 'not-supported'],
    ['Patient', 'identifier=a|b|c', 'identifier', 'invalid'],
    ['Patient', 'gender:missing=maybe', 'gender:missing', 'invalid'],
    ['Patient', '_count=many', '_count', 'invalid'],
    ['Patient', '_sort=shoe-size', '_sort', 'invalid'],
    ['Patient', '_total=all', '_total', 'invalid'],
    ['Patient', '_include=Patient:name', '_include', 'invalid'],
    ['Patient', '_text=NOT x', '_text', 'not-supported'],
    ['Patient', '_query=x', '_query', 'not-supported'],
    ['Patient', 'family.name=x', 'family.name', 'invalid'],
    ['Patient', '_has:Observation:code:status=final', '_has:Observation:code:status', 'invalid'],
    [undefined, '_type=Spaceship', '_type', 'invalid'],
  ])('%s?%s → issue on %s', (type, query, parameter, code) => {
    const { issues } = search(type, query);
    expect(issues[0]).toMatchObject({ severity: 'error', code, expression: [parameter] });
  });
});
