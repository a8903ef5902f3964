/**
 * The reading of Consent provision trees (access/consent-provisions.ts) into what the access
 * decision compiles: FHIR R4 consent.html#Consent.provision — nested provisions are exceptions to
 * the rule above them, of the opposite type; a rule applies while its period covers now.
 */
import type { FhirResource } from '@concordia/fhir';
import { describe, expect, it } from 'vitest';
import { consentRules, optOutRules, periodCovers } from '../../src/access/consent-provisions.ts';
import { denialsFor } from '../../src/access/consent-rules.ts';
import { consent, type ProvisionInput } from './access-fixtures.ts';

const NOW = new Date('2026-11-25T10:00:00Z');
const DOCTOR = 'Practitioner/doc';
const ACTORS = new Set([DOCTOR, 'PractitionerRole/role-doc', 'Organization/clinic']);
const PSY = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' };
const ETH = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'ETH' };

function rulesOf(...consents: FhirResource[]) {
  return consentRules(
    consents.map((resource) => ({ patient: 'p', provision: resource.provision })),
    ACTORS,
    NOW,
  );
}

const deny = (options: Omit<ProvisionInput, 'type'> & { actor?: string }) =>
  consent({ patient: 'p', type: 'deny', ...options });
const permit = (options: Omit<ProvisionInput, 'type'> & { actor?: string }) =>
  consent({ patient: 'p', type: 'permit', ...options });

describe('Consent provisions as the access decision reads them', () => {
  it('reads a top-level deny of the whole record, and of labelled data, as before nesting', () => {
    expect(rulesOf(deny({ actor: DOCTOR }))).toMatchObject({ deniedPatients: ['p'], scopedDenials: [] });
    expect(rulesOf(deny({ actor: DOCTOR, securityLabels: [PSY] }))).toMatchObject({
      deniedPatients: [],
      deniedLabels: [{ patient: 'p', ...PSY }],
      scopedDenials: [],
    });
  });

  it('applies a deny to the principal through their role or organization, and not to another actor', () => {
    expect(rulesOf(deny({ actor: 'PractitionerRole/role-doc' })).deniedPatients).toEqual(['p']);
    expect(rulesOf(deny({ actor: 'Organization/clinic' })).deniedPatients).toEqual(['p']);
    expect(rulesOf(deny({ actor: 'Practitioner/other' })).deniedPatients).toEqual([]);
  });

  it('reads a nested permit as an exception to the deny above it', () => {
    const rules = rulesOf(
      deny({ actor: DOCTOR, provisions: [{ type: 'permit', classes: ['AllergyIntolerance'] }] }),
    );
    expect(rules.deniedPatients).toEqual([]);
    expect(rules.scopedDenials).toEqual([{ patient: 'p', except: [{ types: ['AllergyIntolerance'] }] }]);
  });

  it('gives a nested provision without a type the opposite type of its parent', () => {
    const rules = rulesOf(permit({ provisions: [{ actors: [DOCTOR], securityLabels: [PSY] }] }));
    expect(rules.deniedLabels).toEqual([{ patient: 'p', ...PSY }]);
  });

  it('conjoins the conditions of a path: a nested deny narrows to the types of its parent permit', () => {
    const rules = rulesOf(
      permit({
        classes: ['Observation', 'Condition'],
        provisions: [{ type: 'deny', actors: [DOCTOR], classes: ['Observation'] }],
      }),
    );
    expect(rules.scopedDenials).toEqual([{ patient: 'p', types: ['Observation'], except: [] }]);
  });

  it('reads a deny nested in an exception as a denial again (deny → permit → deny)', () => {
    const rules = rulesOf(
      deny({
        actor: DOCTOR,
        provisions: [
          { type: 'permit', classes: ['Observation'], provisions: [{ type: 'deny', securityLabels: [PSY] }] },
        ],
      }),
    );
    expect(rules.scopedDenials).toEqual([
      { patient: 'p', types: ['Observation'], labels: [PSY], except: [] },
      { patient: 'p', except: [{ types: ['Observation'] }] },
    ]);
  });

  it('does not apply an exception naming another actor, nor one carrying an element it cannot honour', () => {
    const other = rulesOf(
      deny({ actor: DOCTOR, provisions: [{ type: 'permit', actors: ['Practitioner/x'] }] }),
    );
    expect(other.deniedPatients).toEqual(['p']);
    const authoredBy = deny({
      actor: DOCTOR,
      provisions: [{ type: 'permit', data: [{ meaning: 'authoredby', reference: 'Practitioner/x' }] }],
    });
    expect(rulesOf(authoredBy).deniedPatients).toEqual(['p']);
  });

  it('applies an exception to the requests of its actions only (consentaction)', () => {
    const withAction = (code: string) => {
      const resource = deny({ actor: DOCTOR, provisions: [{ type: 'permit', classes: ['Observation'] }] });
      const nested = (resource.provision as { provision: Record<string, unknown>[] }).provision[0];
      if (nested !== undefined) {
        nested.action = [
          { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code }] },
        ];
      }
      return resource;
    };
    const access = rulesOf(withAction('access'));
    expect(access.scopedDenials).toEqual([
      { patient: 'p', except: [{ types: ['Observation'], actions: ['read'] }] },
    ]);
    expect(denialsFor(access, 'TREAT').scopedDenials).toHaveLength(1);
    // A write is not excepted: the whole record is denied to it.
    expect(denialsFor(access, 'TREAT', 'correct')).toMatchObject({
      deniedPatients: ['p'],
      scopedDenials: [],
    });
    const correct = rulesOf(withAction('correct'));
    expect(denialsFor(correct, 'TREAT')).toMatchObject({ deniedPatients: ['p'], scopedDenials: [] });
    expect(denialsFor(correct, 'TREAT', 'correct').scopedDenials).toHaveLength(1);
    // An action the decision does not judge (disclose) makes no exception.
    expect(rulesOf(withAction('disclose')).deniedPatients).toEqual(['p']);
  });

  it('cancels a deny whose exception permits everything it covers', () => {
    const rules = rulesOf(deny({ actor: DOCTOR, provisions: [{ type: 'permit', actors: [DOCTOR] }] }));
    expect(rules).toMatchObject({ deniedPatients: [], deniedLabels: [], scopedDenials: [] });
  });

  it('approximates labels on two levels by those both list', () => {
    const both = rulesOf(
      permit({ securityLabels: [PSY, ETH], provisions: [{ actors: [DOCTOR], securityLabels: [PSY] }] }),
    );
    expect(both.deniedLabels).toEqual([{ patient: 'p', ...PSY }]);
    const disjoint = rulesOf(
      permit({ securityLabels: [ETH], provisions: [{ actors: [DOCTOR], securityLabels: [PSY] }] }),
    );
    expect(disjoint).toMatchObject({ deniedPatients: [], deniedLabels: [], scopedDenials: [] });
  });

  it('reads a deny that names no actor on any level as an opt-out for everyone, apart from the named', () => {
    const optOut = deny({ provisions: [{ type: 'permit', actors: ['Practitioner/other'] }] });
    expect(rulesOf(optOut).deniedPatients).toEqual([]);
    const stored = [{ patient: 'p', provision: optOut.provision }];
    expect(optOutRules(stored, ACTORS, NOW).deniedPatients).toEqual(['p']);
    // Its exception for this very principal: the opt-out does not bind them.
    const except = deny({ provisions: [{ type: 'permit', actors: [DOCTOR] }] });
    expect(optOutRules([{ patient: 'p', provision: except.provision }], ACTORS, NOW)).toMatchObject({
      deniedPatients: [],
      scopedDenials: [],
    });
    // A deny naming the principal is theirs, not an opt-out.
    expect(
      optOutRules([{ patient: 'p', provision: deny({ actor: DOCTOR }).provision }], ACTORS, NOW),
    ).toMatchObject({
      deniedPatients: [],
    });
  });

  it('applies a deny to reads for access or use, to updates and deletes for correct, to creates for collect (consentaction)', () => {
    const denied = (actions: string[] | undefined, action: 'read' | 'correct' | 'collect') =>
      denialsFor(
        rulesOf(deny({ actor: DOCTOR, ...(actions !== undefined ? { actions } : {}) })),
        'TREAT',
        action,
      ).deniedPatients;
    expect(denied(['correct'], 'read')).toEqual([]);
    expect(denied(['correct'], 'correct')).toEqual(['p']);
    expect(denied(['correct'], 'collect')).toEqual([]);
    expect(denied(['collect', 'access'], 'read')).toEqual(['p']);
    expect(denied(['collect', 'access'], 'collect')).toEqual(['p']);
    expect(denied(['collect', 'access'], 'correct')).toEqual([]);
    expect(denied(['use'], 'read')).toEqual(['p']);
    expect(denied(['use'], 'correct')).toEqual([]);
    // No action: every request; only actions the decision does not judge: none.
    for (const action of ['read', 'correct', 'collect'] as const) {
      expect(denied(undefined, action)).toEqual(['p']);
      expect(denied(['disclose'], action)).toEqual([]);
    }
  });

  it('keeps the purposes of a deny and of its exceptions, and picks them per request (Consent.provision.purpose)', () => {
    const rules = rulesOf(
      deny({
        actor: DOCTOR,
        purposes: ['HRESCH', 'TREAT'],
        provisions: [{ type: 'permit', classes: ['AllergyIntolerance'], purposes: ['TREAT'] }],
      }),
    );
    expect(rules.scopedDenials).toEqual([
      {
        patient: 'p',
        purposes: ['HRESCH', 'TREAT'],
        except: [{ types: ['AllergyIntolerance'], purposes: ['TREAT'] }],
      },
    ]);
    // Once its exception falls away the deny covers the whole record.
    expect(denialsFor(rules, 'HRESCH')).toMatchObject({ deniedPatients: ['p'], scopedDenials: [] });
    expect(denialsFor(rules, 'TREAT').scopedDenials[0]?.except).toHaveLength(1);
    expect(denialsFor(rules, 'HPAYMT').scopedDenials).toEqual([]);
  });

  it('reads code, data and dataPeriod as conditions of the denial, a dataPeriod conjoined along the path', () => {
    const loinc = { system: 'http://loinc.org', code: '8867-4' };
    const rules = rulesOf(
      deny({
        actor: DOCTOR,
        codes: [loinc],
        data: [
          { meaning: 'instance', reference: 'Observation/o1' },
          { meaning: 'dependents', reference: 'Encounter/e1' },
        ],
        dataPeriod: { start: '2020', end: '2021-06' },
        provisions: [{ type: 'permit', dataPeriod: { start: '2021-01-01' } }],
      }),
    );
    expect(rules.scopedDenials).toEqual([
      {
        patient: 'p',
        codes: [loinc],
        data: [
          { meaning: 'instance', type: 'Observation', id: 'o1' },
          { meaning: 'dependents', type: 'Encounter', id: 'e1' },
        ],
        dataPeriod: { start: '2020-01-01T00:00:00.000Z', end: '2021-07-01T00:00:00.000Z' },
        // An exception is the conjunction of its whole path.
        except: [
          {
            codes: [loinc],
            data: [
              { meaning: 'instance', type: 'Observation', id: 'o1' },
              { meaning: 'dependents', type: 'Encounter', id: 'e1' },
            ],
            dataPeriod: { start: '2021-01-01T00:00:00.000Z', end: '2021-07-01T00:00:00.000Z' },
          },
        ],
      },
    ]);
  });

  it('applies a rule only while its period covers now, and its exceptions only while theirs does', () => {
    expect(rulesOf(deny({ actor: DOCTOR, period: { end: '2026-11-24' } })).deniedPatients).toEqual([]);
    expect(rulesOf(deny({ actor: DOCTOR, period: { start: '2026-11-26' } })).deniedPatients).toEqual([]);
    expect(
      rulesOf(deny({ actor: DOCTOR, period: { start: '2026-11', end: '2026-11-25' } })).deniedPatients,
    ).toEqual(['p']);
    const expired = rulesOf(
      deny({
        actor: DOCTOR,
        provisions: [{ type: 'permit', classes: ['Observation'], period: { end: '2025' } }],
      }),
    );
    expect(expired.deniedPatients).toEqual(['p']);
  });

  it('turns a proxy’s top-level permit into grants, and a deny nested in it into a denial', () => {
    const grant = permit({
      actor: 'RelatedPerson/rp',
      classes: ['Observation'],
      provisions: [{ type: 'deny', securityLabels: [PSY] }],
    });
    const rules = consentRules(
      [{ patient: 'p', provision: grant.provision }],
      new Set(['RelatedPerson/rp']),
      NOW,
      'RelatedPerson/rp',
    );
    expect([...(rules.grants.get('p') ?? [])]).toEqual(['Observation']);
    expect(rules.scopedDenials).toEqual([
      { patient: 'p', types: ['Observation'], labels: [PSY], except: [] },
    ]);
  });

  it('does not turn a proxy’s permit narrowed by purpose, code, data or dataPeriod into a grant', () => {
    for (const narrowed of [
      { purposes: ['TREAT'] },
      { codes: [{ system: 'http://loinc.org', code: '8867-4' }] },
      { dataPeriod: { start: '2020' } },
    ]) {
      const grant = permit({ actor: 'RelatedPerson/rp', classes: ['Observation'], ...narrowed });
      const rules = consentRules(
        [{ patient: 'p', provision: grant.provision }],
        new Set(['RelatedPerson/rp']),
        NOW,
        'RelatedPerson/rp',
      );
      expect(rules.grants.size, JSON.stringify(narrowed)).toBe(0);
    }
  });

  it('reads partial dates of a Period as their whole year, month or day (datatypes.html#Period)', () => {
    expect(periodCovers({ end: '2026' }, NOW)).toBe(true);
    expect(periodCovers({ end: '2026-11' }, NOW)).toBe(true);
    expect(periodCovers({ end: '2026-11-25' }, NOW)).toBe(true);
    expect(periodCovers({ end: '2026-11-25T09:59:59Z' }, NOW)).toBe(false);
    expect(periodCovers({ start: '2026-11-25T10:00:00+01:00' }, NOW)).toBe(true);
    expect(periodCovers(undefined, NOW)).toBe(true);
  });
});
