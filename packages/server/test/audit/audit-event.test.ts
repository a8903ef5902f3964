/**
 * The AuditEvent builder: BALP shape of each kind of agent, and the stored JSON already in RFC 8785
 * canonical form (the ledger hashes it as stored; a verifier recomputes it from the row).
 */
import { canonicalJson } from '@concordia/fhir';
import { describe, expect, it } from 'vitest';
import { type RequestContext, systemContext } from '../../src/access/request-context.ts';
import { parseScopes } from '../../src/access/smart-scopes.ts';
import { type AuditFacts, auditRecord } from '../../src/audit/audit-event.ts';
import { LOGIN, REST_TYPE, USER_AUTHENTICATED } from '../../src/audit/balp-codes.ts';
import { at } from '../support/test-app.ts';

const SOURCE = { observer: 'https://hie.example/fhir', site: 'Region Ü' };

const user: RequestContext = {
  principal: {
    kind: 'user',
    id: 'u-1',
    roles: ['emergency'],
    fhirUser: 'Practitioner/er-1',
    organization: 'Organization/hospital-1',
    clientId: 'ehr',
    tokenId: 'jti-1',
    scopes: parseScopes('user/*.rs'),
    expiresAt: 1,
  },
  clientId: 'ehr',
  purposeOfUse: 'ETREAT',
  breakTheGlass: { reason: 'Bewusstlos — "unconscious"' },
  sourceIp: '2001:db8::1',
  userAgent: 'Mozilla/5.0 (X11)',
  requestId: 'r-1',
};

const contexts: Record<string, RequestContext> = {
  user,
  client: {
    principal: {
      kind: 'client',
      id: 'lab',
      roles: ['system'],
      clientId: 'lab',
      scopes: parseScopes('system/*.rs'),
      expiresAt: 1,
    },
    requestId: 'r-2',
  },
  system: { principal: { kind: 'system', id: 'import' }, requestId: 'r-3' },
};

function facts(ctx: RequestContext, extra: Partial<AuditFacts> = {}): AuditFacts {
  return {
    ctx,
    recorded: '2026-11-24T21:00:00.123Z',
    type: REST_TYPE,
    subtypes: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'search-type' }],
    action: 'E',
    outcome: '0',
    entities: ['Observation'],
    query: 'subject=Patient/1&code=http://loinc.org|8867-4',
    patients: ['Patient/1', 'Patient/1', 'Patient/2'],
    ...extra,
  };
}

describe('AuditEvent builder (IHE BALP)', () => {
  it.each(Object.entries(contexts))('stores RFC 8785 canonical JSON for a %s principal', (_kind, ctx) => {
    const record = auditRecord(facts(ctx), SOURCE);
    expect(canonicalJson(JSON.parse(record.json))).toBe(record.json);
    expect(JSON.parse(record.json)).toEqual(record.event);
  });

  it('stores canonical JSON for a sign-in of a claimed user too', () => {
    const record = auditRecord(
      facts(systemContext('sign-in'), {
        type: USER_AUTHENTICATED,
        subtypes: [LOGIN],
        claimedUser: { id: 'olena', roles: ['patient'], fhirUser: 'Patient/olena' },
        outcome: '4',
        outcomeDescription: 'password sign-in refused: invalid',
      }),
      SOURCE,
    );
    expect(canonicalJson(JSON.parse(record.json))).toBe(record.json);
    expect(record.agent).toEqual(expect.arrayContaining(['olena', 'Patient/olena']));
  });

  it('names the user, the app and the organization as agents, flags break-the-glass and keeps each patient once', () => {
    const record = auditRecord(facts(user), SOURCE);
    const event = record.event;
    expect(record.patient).toEqual(['Patient/1', 'Patient/2']);
    expect(record.breakGlass).toBe(true);
    expect(record.agent).toEqual(
      expect.arrayContaining(['u-1', 'Practitioner/er-1', 'client:ehr', 'Organization/hospital-1']),
    );
    expect(at(event, 'agent', 0, 'who', 'reference')).toBe('Practitioner/er-1');
    expect(at(event, 'agent', 0, 'requestor')).toBe(true);
    expect(at(event, 'agent', 0, 'policy', 0)).toBe('jti-1');
    expect(at(event, 'agent', 0, 'network')).toEqual({ address: '2001:db8::1', type: '2' });
    expect(at(event, 'agent', 1, 'who', 'identifier', 'value')).toBe('ehr');
    expect(at(event, 'agent', 1, 'requestor')).toBe(false);
    expect(at(event, 'source', 'site')).toBe('Region Ü');
    const query = (Array.isArray(event.entity) ? event.entity : []).find(
      (entity: unknown) => at(entity, 'role', 'code') === '24',
    );
    expect(Buffer.from(String(at(query, 'query')), 'base64').toString('utf8')).toBe(
      'subject=Patient/1&code=http://loinc.org|8867-4',
    );
  });
});
