/**
 * The access log keeps facts instead of AuditEvents (migration 0012): the event an auditor reads
 * must be the one the facts were taken from, and a row's hand-written JSON must be its RFC 8785
 * canonical form, which the batch's ledger leaf commits to.
 */
import { describe, expect, it } from 'vitest';
import type { RequestContext } from '../../src/access/request-context.ts';
import { parseScopes } from '../../src/access/smart-scopes.ts';
import {
  accessAuditRecord,
  accessRowCanonicalJson,
  accessRowJson,
  accessRowOf,
  parseAccessEventId,
} from '../../src/audit/access-log.ts';
import { type AuditFacts, auditRecordWithId } from '../../src/audit/audit-event.ts';
import { OPERATION_SYSTEM, REST_TYPE, RESTFUL_INTERACTION } from '../../src/audit/balp-codes.ts';

const SOURCE = { observer: 'https://hie.example/fhir', site: 'Region Ü' };
const GRANT = { scopes: parseScopes('user/*.rs'), expiresAt: 2_000_000_000 };

const contexts: Record<string, RequestContext> = {
  'a clinician through an app, for an organization, with every header': {
    principal: {
      kind: 'user',
      id: 'olena',
      roles: ['family-doctor', 'emergency'],
      fhirUser: 'Practitioner/olena',
      organization: 'Organization/clinic',
      tokenId: 'jti-1',
      clientId: 'ehr-app',
      ...GRANT,
    },
    clientId: 'ehr-app',
    purposeOfUse: 'ETREAT',
    breakTheGlass: { reason: 'unconscious, \u0022allergies?\u0022' },
    sourceIp: '198.51.100.7',
    userAgent: 'EHR/2.1 (Ü)',
    requestId: 'req-1',
  },
  'a user without fhirUser whose client is only in the token': {
    principal: { kind: 'user', id: 'u-2', roles: [], clientId: 'portal', ...GRANT },
    requestId: 'req-2',
  },
  'a client acting on its own': {
    principal: { kind: 'client', id: 'lab-system', roles: ['system'], clientId: 'lab-system', ...GRANT },
    sourceIp: '10.0.0.4',
    requestId: 'req-3',
  },
  'an internal job': { principal: { kind: 'system', id: 'import' }, requestId: 'req-4' },
  'an anonymous caller naming a client': {
    principal: { kind: 'anonymous' },
    clientId: 'unknown-app',
    requestId: 'req-5',
  },
  'the open development principal': { principal: { kind: 'open-development' }, requestId: 'req-6' },
};

function facts(ctx: RequestContext, kind: 'read' | 'search' | 'operation'): AuditFacts {
  const base = { ctx, recorded: '2026-11-25T00:30:01.120Z', type: REST_TYPE };
  switch (kind) {
    case 'read':
      return {
        ...base,
        subtypes: [{ system: RESTFUL_INTERACTION, code: 'vread' }],
        action: 'R',
        outcome: '0',
        entities: ['Observation/1/_history/2'],
        patients: ['Patient/p1'],
      };
    case 'search':
      return {
        ...base,
        subtypes: [{ system: RESTFUL_INTERACTION, code: 'search-type' }],
        action: 'E',
        outcome: '4',
        outcomeDescription: 'Unknown parameter \u0000x',
        entities: ['Observation'],
        query: 'code=http%3A%2F%2Floinc.org%7C1234-5&patient=p1,p2',
        patients: ['Patient/p1', 'Patient/p2', 'Patient/p1'],
      };
    case 'operation':
      return {
        ...base,
        subtypes: [
          { system: RESTFUL_INTERACTION, code: 'operation' },
          { system: OPERATION_SYSTEM, code: 'everything' },
        ],
        action: 'E',
        outcome: '0',
        entities: ['Patient/p1'],
        patients: ['Patient/p1'],
      };
  }
}

describe('access log rows', () => {
  for (const [who, ctx] of Object.entries(contexts)) {
    for (const kind of ['read', 'search', 'operation'] as const) {
      it(`rebuilds the AuditEvent of a ${kind} by ${who} exactly`, () => {
        const event = facts(ctx, kind);
        const row = accessRowOf(event);
        // What the row went through: its JSON to the database and back.
        const stored = JSON.parse(accessRowJson(row, 7));
        delete stored.position;
        const rebuilt = accessAuditRecord(stored, { batch: 42, position: 7 }, SOURCE);
        const direct = auditRecordWithId('r42-7', event, SOURCE);
        if (kind === 'search') {
          // U+0000 cannot be stored in PostgreSQL text: the row keeps U+FFFD in its place.
          expect(rebuilt.event.outcomeDesc).toBe('Unknown parameter \uFFFDx');
          expect(JSON.parse(rebuilt.json)).toEqual({
            ...JSON.parse(direct.json),
            outcomeDesc: 'Unknown parameter \uFFFDx',
          });
        } else {
          expect(rebuilt.json).toBe(direct.json);
        }
        expect(rebuilt.agent).toEqual(direct.agent);
        expect(rebuilt.entity).toEqual(direct.entity);
        expect(rebuilt.patient).toEqual(direct.patient);
        expect(rebuilt.breakGlass).toBe(direct.breakGlass);
      });
    }
  }

  it('writes each row as its RFC 8785 canonical JSON', () => {
    for (const ctx of Object.values(contexts)) {
      for (const kind of ['read', 'search', 'operation'] as const) {
        const row = accessRowOf(facts(ctx, kind));
        for (const position of [0, 1, 499]) {
          expect(accessRowJson(row, position)).toBe(accessRowCanonicalJson(row, position));
        }
      }
    }
  });

  it('gives access events ids that no UUID (an audit_event id) can take', () => {
    expect(parseAccessEventId('r12-0')).toEqual({ batch: 12, position: 0 });
    expect(parseAccessEventId('a1b2c3d4-0000-4000-8000-000000000000')).toBeUndefined();
    expect(parseAccessEventId('r12')).toBeUndefined();
    expect(parseAccessEventId('r12-3-4')).toBeUndefined();
  });
});
