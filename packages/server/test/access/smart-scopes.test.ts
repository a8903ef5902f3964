import { describe, expect, it } from 'vitest';
import type { TokenGrant } from '../../src/access/request-context.ts';
import { decideScopes, type ScopeRequest } from '../../src/access/scope-decision.ts';
import { readingRestriction } from '../../src/access/scope-row-filter.ts';
import { grantableScopes, parseResourceScope, parseScopes } from '../../src/access/smart-scopes.ts';

describe('SMART scope parsing (scopes-and-launch-context.html)', () => {
  it.each([
    ['patient/Observation.rs', 'patient', 'Observation', 'rs', [], 2],
    ['user/*.cruds', 'user', '*', 'cruds', [], 2],
    ['system/*.rs', 'system', '*', 'rs', [], 2],
    ['patient/Observation.c', 'patient', 'Observation', 'c', [], 2],
    ['user/Encounter.cud', 'user', 'Encounter', 'cud', [], 2],
    ['patient/Observation.read', 'patient', 'Observation', 'rs', [], 1],
    ['user/*.write', 'user', '*', 'cud', [], 1],
    ['system/*.*', 'system', '*', 'cruds', [], 1],
    [
      'patient/Observation.rs?category=laboratory',
      'patient',
      'Observation',
      'rs',
      [['category', 'laboratory']],
      2,
    ],
    [
      'patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs&status=final',
      'patient',
      'Observation',
      'rs',
      [
        ['category', 'http://terminology.hl7.org/CodeSystem/observation-category|vital-signs'],
        ['status', 'final'],
      ],
      2,
    ],
    [
      'patient/*.rs?_tag=http://example.org|shared',
      'patient',
      '*',
      'rs',
      [['_tag', 'http://example.org|shared']],
      2,
    ],
  ])('%s → %s/%s permissions %s', (scope, context, resourceType, letters, query, version) => {
    const parsed = parseResourceScope(scope);
    expect(parsed).toMatchObject({ raw: scope, context, resourceType, query, version });
    expect([...(parsed?.permissions ?? [])].join('')).toBe(letters);
  });

  it.each([
    'patient/Observation.x',
    'patient/Observation.sr', // v2 letters must come in the order c r u d s
    'patient/Observation.',
    'patient/observation.rs',
    'patient/Observation.read?category=laboratory', // query parameters are v2 only
    'patient/Observation.rs?',
    'patient/Observation.rs?category=',
    // criteria that are not a valid search of the type (scopes-and-launch-context.html, "Finer-grained
    // resource constraints using search parameters"): refused when asked for, nothing if issued
    'patient/Observation.rs?nonsense=1',
    'patient/Observation.rs?category=laboratory&_sort=date',
    'patient/Observation.rs?_count=10',
    'patient/Observation.rs?date=not-a-date',
    'patient/Nonsense.rs?category=laboratory',
    'patient/*.rs?category=laboratory', // not a parameter of every type
    // criteria that do not test the resource alone
    'patient/Observation.rs?subject:Patient.name=x',
    'patient/Patient.rs?_has:Observation:subject:code=x',
    'patient/Observation.rs?_list=list-1',
    'patient/Observation.rs?code:in=http://example.org/vs',
    'patient/Observation.rs?_lastUpdated=gt2020-01-01',
  ])('refuses the malformed scope %s', (scope) => {
    expect(parseResourceScope(scope)).toBeUndefined();
    expect(parseScopes(scope).invalid).toEqual([scope]);
  });

  it('keeps a scope with an unknown context as an unknown scope, granting nothing', () => {
    expect(parseResourceScope('practitioner/Observation.rs')).toBeUndefined();
    expect(parseScopes('practitioner/Observation.rs')).toMatchObject({
      resources: [],
      other: ['practitioner/Observation.rs'],
    });
  });

  it('separates resource scopes from identity and launch scopes', () => {
    const parsed = parseScopes('openid fhirUser launch/patient offline_access patient/*.rs unknown-scope');
    expect(parsed).toMatchObject({
      openid: true,
      fhirUser: true,
      offlineAccess: true,
      launch: { patient: true, ehr: false, encounter: false },
      other: ['unknown-scope'],
      invalid: [],
    });
    expect(parsed.resources.map((scope) => scope.raw)).toEqual(['patient/*.rs']);
  });

  it('grants only requested scopes that a registered scope covers', () => {
    expect(
      grantableScopes(
        [
          'system/Observation.rs',
          'system/Observation.rs?category=laboratory',
          'system/*.cruds',
          'user/*.rs',
          'openid',
        ],
        ['system/*.rs', 'openid'],
      ),
    ).toEqual(['system/Observation.rs', 'system/Observation.rs?category=laboratory', 'openid']);
    expect(
      grantableScopes(['patient/Observation.rs'], ['patient/Observation.rs?category=laboratory']),
    ).toEqual([]);
  });
});

function grant(scope: string, patient?: string): TokenGrant {
  return {
    scopes: parseScopes(scope),
    clientId: 'app',
    expiresAt: 0,
    ...(patient !== undefined ? { patient } : {}),
  };
}

describe('the scope decision: may this token do X on T?', () => {
  it.each<[string, ScopeRequest, boolean, string?]>([
    ['system/*.rs', { permission: 'r', resourceType: 'Observation' }, true],
    ['system/*.rs', { permission: 's', resourceType: '*' }, true],
    ['system/*.rs', { permission: 'c', resourceType: 'Observation' }, false],
    ['system/Patient.rs', { permission: 'r', resourceType: 'Observation' }, false],
    ['system/Patient.rs', { permission: 's', resourceType: '*' }, false],
    ['user/*.cruds', { permission: 'd', resourceType: 'Encounter' }, true],
    ['user/Observation.write', { permission: 'u', resourceType: 'Observation' }, true],
    ['user/Observation.write', { permission: 'r', resourceType: 'Observation' }, false],
    // v2 query scopes grant their permissions; which rows they reach is the store's to enforce
    // (scope-row-filter.ts, query-scopes.test.ts), whatever the request repeats of the criteria.
    [
      'user/Observation.rs?category=laboratory',
      { permission: 's', resourceType: 'Observation', query: [['category', 'vital-signs']] },
      true,
    ],
    ['user/Observation.rs?category=laboratory', { permission: 's', resourceType: 'Observation' }, true],
    ['user/Observation.rs?category=laboratory', { permission: 'r', resourceType: 'Observation' }, true],
    ['user/Observation.rs?category=laboratory', { permission: 'c', resourceType: 'Observation' }, false],
    ['user/Observation.rs?category=laboratory', { permission: 'r', resourceType: 'Encounter' }, false],
    // an operation that changes data ($import loads as the server) needs an unrestricted scope
    ['system/*.cud?_tag=a|b', { permission: 'c', resourceType: '*', operation: true }, false],
    ['system/*.rs?_tag=a|b', { permission: 'r', resourceType: '*', operation: true }, true],
    ['system/Observation.cud?category=laboratory', { permission: 'c', resourceType: 'Observation' }, true],
    // AuditEvent is answered from the audit tables, which no row condition reaches: there a
    // restricted scope grants only a search that repeats its criteria
    [
      'system/AuditEvent.rs?action=R',
      { permission: 's', resourceType: 'AuditEvent', query: [['action', 'R']] },
      true,
    ],
    ['system/AuditEvent.rs?action=R', { permission: 's', resourceType: 'AuditEvent' }, false],
    ['system/AuditEvent.rs?action=R', { permission: 'r', resourceType: 'AuditEvent' }, false],
    // criteria that are not a valid search: the scope is malformed and grants nothing
    ['user/Observation.rs?nonsense=1', { permission: 'r', resourceType: 'Observation' }, false],
    // patient/ scopes: only where the request shows it stays in the launch patient's record
    ['patient/*.rs', { permission: 'r', resourceType: 'Patient', patient: 'p1' }, true, 'p1'],
    ['patient/*.rs', { permission: 'r', resourceType: 'Patient', patient: 'p2' }, false, 'p1'],
    [
      'patient/*.rs',
      { permission: 's', resourceType: 'Observation', query: [['patient', 'p1']] },
      true,
      'p1',
    ],
    [
      'patient/*.rs',
      { permission: 's', resourceType: 'Observation', query: [['subject', 'Patient/p1']] },
      true,
      'p1',
    ],
    [
      'patient/*.rs',
      { permission: 's', resourceType: 'Observation', query: [['subject', 'p1']] },
      false,
      'p1',
    ],
    [
      'patient/*.rs',
      { permission: 's', resourceType: 'Observation', query: [['patient', 'p1,p2']] },
      false,
      'p1',
    ],
    ['patient/*.rs', { permission: 's', resourceType: 'Observation', query: [['code', 'x']] }, false, 'p1'],
    ['patient/*.rs', { permission: 'r', resourceType: 'Observation' }, false, 'p1'],
    ['patient/*.rs', { permission: 'r', resourceType: 'Patient', patient: 'p1' }, false],
  ])('%s, %j → %s', (scope, request, allowed, patient) => {
    expect(decideScopes(grant(scope, patient), request).allowed).toBe(allowed);
  });
});

describe('which rows query-restricted scopes restrict (scopes-and-launch-context.html, finer-grained constraints)', () => {
  const restricted = (scope: string, types: readonly string[]) => {
    const restriction = readingRestriction(grant(scope));
    return types.filter((type) => restriction?.restricts(type) === true);
  };

  it('keeps the parsed criteria as search filters', () => {
    expect(parseResourceScope('user/Observation.rs?category=laboratory')?.filters).toMatchObject([
      { kind: 'token', code: 'category' },
    ]);
  });

  it('restricts a type whose reading scopes are all restricted, and no other', () => {
    expect(
      restricted('user/Observation.rs?category=laboratory user/Encounter.rs', ['Observation', 'Encounter']),
    ).toEqual(['Observation']);
  });

  it('scopes add up: an unrestricted scope on the type (or *) lifts the restriction', () => {
    expect(
      readingRestriction(grant('user/Observation.rs?category=laboratory user/Observation.rs')),
    ).toBeUndefined();
    expect(readingRestriction(grant('user/Observation.rs?category=laboratory user/*.rs'))).toBeUndefined();
    expect(
      restricted(
        'user/Observation.rs?category=laboratory user/Observation.rs user/Encounter.rs?status=finished',
        ['Observation', 'Encounter'],
      ),
    ).toEqual(['Encounter']);
  });

  it('holds a row to each of r and s the token has: the narrower of the two wins', () => {
    expect(restricted('user/Observation.r?category=laboratory user/Observation.s', ['Observation'])).toEqual([
      'Observation',
    ]);
  });

  it('a restricted * scope restricts every type no unrestricted scope names', () => {
    expect(
      restricted('user/*.rs?_tag=http://example.org|shared user/Patient.rs', [
        'Patient',
        'Encounter',
        'Observation',
      ]),
    ).toEqual(['Encounter', 'Observation']);
  });

  it('restricts nothing for a token without query-restricted scopes, or whose criteria were not valid', () => {
    expect(readingRestriction(grant('user/*.rs'))).toBeUndefined();
    expect(readingRestriction(grant('user/Observation.rs?nonsense=1'))).toBeUndefined();
    expect(parseScopes('user/Observation.rs?nonsense=1').invalid).toEqual(['user/Observation.rs?nonsense=1']);
  });
});
