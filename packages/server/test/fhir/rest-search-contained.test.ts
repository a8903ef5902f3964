/**
 * References to contained resources in search (http://hl7.org/fhir/R4/references.html#contained,
 * search.html#missing): `{"reference": "#coverage"}` is a value of the element, so `:missing=true`
 * must not match it, yet it names no server resource, so no `Type/id` search, chain or include may
 * reach one. On every configured database.
 */
import type { FhirResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { createTestApp, patient, type TestApp } from '../support/test-app.ts';
import { createResource, idsWithMode, matchIds, searchBundle } from './search-helpers.ts';

function coverage(beneficiary: string, id?: string): FhirResource {
  return {
    resourceType: 'Coverage',
    ...(id !== undefined ? { id } : {}),
    status: 'active',
    beneficiary: { reference: beneficiary },
    payor: [{ display: 'Acme Health' }],
  };
}

function explanationOfBenefit(
  subject: string,
  coverageReference: Record<string, unknown>,
  contained: FhirResource[] = [],
): FhirResource {
  return {
    resourceType: 'ExplanationOfBenefit',
    ...(contained.length > 0 ? { contained } : {}),
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: { reference: subject },
    created: '2024-01-15',
    insurer: { display: 'Acme Health' },
    provider: { display: 'Dr. Example' },
    outcome: 'complete',
    insurance: [{ focal: true, coverage: coverageReference }],
  };
}

for (const database of testDatabases()) {
  describe(`search on references to contained resources on ${database.name}`, () => {
    let t: TestApp;
    let subject: string;
    let containedCoverage: string;
    let storedCoverage: string;
    let displayOnly: string;
    beforeAll(async () => {
      t = await createTestApp(database);
      subject = `Patient/${await createResource(t, patient({ family: 'Contained' }))}`;
      // A stored Coverage whose id is the contained one's: the contained reference must not reach it.
      const stored = await t.app.inject({
        method: 'PUT',
        url: '/fhir/Coverage/coverage',
        headers: { 'content-type': 'application/fhir+json' },
        payload: coverage(subject, 'coverage'),
      });
      expect([200, 201]).toContain(stored.statusCode);
      containedCoverage = await createResource(
        t,
        explanationOfBenefit(subject, { reference: '#coverage' }, [coverage(subject, 'coverage')]),
      );
      storedCoverage = await createResource(
        t,
        explanationOfBenefit(subject, { reference: 'Coverage/coverage' }),
      );
      displayOnly = await createResource(t, explanationOfBenefit(subject, { display: 'Unknown plan' }));
    });
    afterAll(async () => {
      await t?.close();
    });

    const search = async (query: string) =>
      matchIds(await searchBundle(t, `/fhir/ExplanationOfBenefit?patient=${subject}&${query}&_sort=_id`));

    it('does not count a contained reference as missing (search.html#missing)', async () => {
      expect(await search('coverage:missing=true')).toEqual([displayOnly]);
      expect(await search('coverage:missing=false')).toEqual([containedCoverage, storedCoverage].sort());
    });

    it('does not match a contained reference by Type/id or id (search.html#reference)', async () => {
      expect(await search('coverage=Coverage/coverage')).toEqual([storedCoverage]);
      expect(await search('coverage=coverage')).toEqual([storedCoverage]);
      expect(await search('coverage:Coverage.status=active')).toEqual([storedCoverage]);
    });

    it('includes no stored resource for a contained reference (search.html#include)', async () => {
      const bundle = await searchBundle(
        t,
        `/fhir/ExplanationOfBenefit?_id=${containedCoverage}&_include=ExplanationOfBenefit:coverage`,
      );
      expect(idsWithMode(bundle, 'include')).toEqual([]);
      const reverse = await searchBundle(
        t,
        '/fhir/Coverage?_id=coverage&_revinclude=ExplanationOfBenefit:coverage',
      );
      expect(idsWithMode(reverse, 'include')).toEqual([`ExplanationOfBenefit/${storedCoverage}`]);
    });
  });
}
