import { describe, expect, it } from 'vitest';
import type { TokenGrant } from '../../src/access/request-context.ts';
import { decideScopes, type ScopeRequest } from '../../src/access/scope-decision.ts';
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
    // v2 query scopes: a search that carries the criteria, nothing else
    [
      'user/Observation.rs?category=laboratory',
      {
        permission: 's',
        resourceType: 'Observation',
        query: [
          ['category', 'laboratory'],
          ['code', 'x'],
        ],
      },
      true,
    ],
    [
      'user/Observation.rs?category=laboratory',
      { permission: 's', resourceType: 'Observation', query: [['category', 'vital-signs']] },
      false,
    ],
    ['user/Observation.rs?category=laboratory', { permission: 'r', resourceType: 'Observation' }, false],
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
