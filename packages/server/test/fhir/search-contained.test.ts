/**
 * `_contained` and `_containedType` (http://hl7.org/fhir/R4/search.html#contained): "By default,
 * search results only include resources that are not contained in other resources"; `_contained`
 * is `false` (default), `true` ("return only contained resources") or `both`; `_containedType` is
 * `container` (default, "Return the container resources") or `contained` ("return only the
 * contained resource"), whose fullUrl is the container's with the fragment of the local id. On
 * every configured database.
 */
import type { FhirResource } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { at, createTestApp, FHIR_JSON, patient, type TestApp } from '../support/test-app.ts';
import { createResource, idsWithMode, linkPath, list, searchBundle } from './search-helpers.ts';

const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const FORM = 'http://snomed.info/sct';

function medication(code: string, form: string, id?: string): FhirResource {
  return {
    resourceType: 'Medication',
    ...(id !== undefined ? { id } : {}),
    code: { coding: [{ system: RXNORM, code }] },
    form: { coding: [{ system: FORM, code: form }] },
  };
}

function request(subject: string, contained: FhirResource[]): FhirResource {
  return {
    resourceType: 'MedicationRequest',
    contained,
    status: 'active',
    intent: 'order',
    medicationReference: { reference: `#${String(contained[0]?.id)}` },
    // dom-3: every contained resource is referred to from its container.
    ...(contained.length > 1
      ? { supportingInformation: contained.slice(1).map((item) => ({ reference: `#${String(item.id)}` })) }
      : {}),
    subject: { reference: subject },
  };
}

const TABLET = '385055001';
const CAPSULE = '385049006';

for (const database of testDatabases()) {
  describe(`_contained and _containedType on ${database.name}`, () => {
    let t: TestApp;
    let stored: string;
    let first: string;
    let second: string;
    beforeAll(async () => {
      t = await createTestApp(database);
      const subject = `Patient/${await createResource(t, patient({ family: 'Contained' }))}`;
      stored = await createResource(t, medication('1049221', TABLET));
      // Both requests contain a #m1 of code 1049221; only the first one's is a tablet. The second
      // also contains a tablet of another code, so code and form match there only on two resources.
      first = await createResource(t, request(subject, [medication('1049221', TABLET, 'm1')]));
      second = await createResource(
        t,
        request(subject, [medication('1049221', CAPSULE, 'm1'), medication('197361', TABLET, 'm2')]),
      );
    });
    afterAll(async () => {
      await t?.close();
    });

    const matches = async (query: string) =>
      idsWithMode(await searchBundle(t, `/fhir/Medication?${query}`), 'match').sort();
    const code = `code=${RXNORM}|1049221`;

    it('matches no contained resource by default or with _contained=false', async () => {
      expect(await matches(code)).toEqual([`Medication/${stored}`]);
      expect(await matches(`${code}&_contained=false`)).toEqual([`Medication/${stored}`]);
    });

    it('with _contained=true matches only contained resources, returning their containers', async () => {
      expect(await matches(`${code}&_contained=true`)).toEqual(
        [`MedicationRequest/${first}`, `MedicationRequest/${second}`].sort(),
      );
      expect(await matches(`${code}&_contained=true&_containedType=container`)).toEqual(
        [`MedicationRequest/${first}`, `MedicationRequest/${second}`].sort(),
      );
    });

    it('requires every parameter to match the same contained resource', async () => {
      expect(await matches(`${code}&form=${FORM}|${TABLET}&_contained=true`)).toEqual([
        `MedicationRequest/${first}`,
      ]);
      expect(await matches(`_id=m2&_contained=true`)).toEqual([`MedicationRequest/${second}`]);
    });

    it('with _contained=both matches contained resources and the others', async () => {
      expect(await matches(`${code}&_contained=both`)).toEqual(
        [`Medication/${stored}`, `MedicationRequest/${first}`, `MedicationRequest/${second}`].sort(),
      );
    });

    it('with _containedType=contained returns the contained resource alone, its fullUrl the container#id', async () => {
      const bundle = await searchBundle(
        t,
        `/fhir/Medication?${code}&_contained=both&_containedType=contained&_total=accurate`,
      );
      expect(bundle.total).toBe(3);
      const entries = list(bundle.entry).map((entry) => ({
        fullUrl: at(entry, 'fullUrl'),
        id: at(entry, 'resource', 'id'),
        type: at(entry, 'resource', 'resourceType'),
        form: at(entry, 'resource', 'form', 'coding', 0, 'code'),
      }));
      expect(entries).toEqual(
        expect.arrayContaining([
          {
            fullUrl: `http://fhir.test/fhir/Medication/${stored}`,
            id: stored,
            type: 'Medication',
            form: TABLET,
          },
          {
            fullUrl: `http://fhir.test/fhir/MedicationRequest/${first}#m1`,
            id: 'm1',
            type: 'Medication',
            form: TABLET,
          },
          {
            fullUrl: `http://fhir.test/fhir/MedicationRequest/${second}#m1`,
            id: 'm1',
            type: 'Medication',
            form: CAPSULE,
          },
        ]),
      );
      expect(entries).toHaveLength(3);
    });

    it('pages contained resources with the cursor links', async () => {
      const seen: string[] = [];
      let path: string | undefined =
        `/fhir/Medication?${code}&_contained=true&_containedType=contained&_count=1`;
      while (path !== undefined) {
        const bundle = await searchBundle(t, path);
        seen.push(...list(bundle.entry).map((entry) => String(at(entry, 'fullUrl'))));
        path = linkPath(bundle, 'next');
      }
      expect(seen.sort()).toEqual(
        [
          `http://fhir.test/fhir/MedicationRequest/${first}#m1`,
          `http://fhir.test/fhir/MedicationRequest/${second}#m1`,
        ].sort(),
      );
    });

    it('forgets contained resources a container no longer holds, and those of a deleted container', async () => {
      const scratch = await createResource(
        t,
        request('Patient/unknown', [medication('1049221', TABLET, 'x1')]),
      );
      expect(await matches(`${code}&_contained=true`)).toContain(`MedicationRequest/${scratch}`);
      const updated = await t.app.inject({
        method: 'PUT',
        url: `/fhir/MedicationRequest/${scratch}`,
        headers: FHIR_JSON,
        payload: { ...request('Patient/unknown', [medication('197361', TABLET, 'x1')]), id: scratch },
      });
      expect(updated.statusCode).toBe(200);
      expect(await matches(`${code}&_contained=true`)).not.toContain(`MedicationRequest/${scratch}`);
      expect(await matches(`code=${RXNORM}|197361&_contained=true`)).toContain(
        `MedicationRequest/${scratch}`,
      );
      await t.app.inject({ method: 'DELETE', url: `/fhir/MedicationRequest/${scratch}` });
      expect(await matches(`code=${RXNORM}|197361&_contained=true`)).toEqual([`MedicationRequest/${second}`]);
    });

    it('refuses what a contained resource cannot be searched by, and malformed values (search.html#errors)', async () => {
      const strict = { prefer: 'handling=strict' };
      for (const query of [`${code}&_contained=true&_sort=code`, '_contained=yes', '_containedType=other']) {
        const response = await t.app.inject({
          method: 'GET',
          url: `/fhir/Medication?${query}`,
          headers: strict,
        });
        expect(response.statusCode, query).toBe(400);
      }
    });
  });
}
