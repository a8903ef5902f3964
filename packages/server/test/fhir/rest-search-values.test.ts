/**
 * Ordered and uri parameters over HTTP (http://hl7.org/fhir/R4/search.html#date, #number, #uri,
 * #prefix) against the 0002 index tables, on every configured database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { createTestApp, observation, patient, type TestApp } from '../support/test-app.ts';
import { createResource, matchIds, searchBundle, uniqueName } from './search-helpers.ts';

for (const database of testDatabases()) {
  describe(`FHIR search on date, number and uri parameters on ${database.name}`, () => {
    let t: TestApp;
    let family: string;
    let born1984: string;
    let born1990: string;
    beforeAll(async () => {
      t = await createTestApp(database);
      family = uniqueName('Dates');
      born1984 = await createResource(t, patient({ family })); // birthDate 1984-03-02
      born1990 = await createResource(t, { ...patient({ family }), birthDate: '1990' });
    });
    afterAll(async () => {
      await t?.close();
    });

    const birthdate = async (value: string) =>
      matchIds(await searchBundle(t, `/fhir/Patient?family=${family}&birthdate=${value}&_sort=_id`));

    it('matches a date by the range of its precision (search.html#date)', async () => {
      expect(await birthdate('1984')).toEqual([born1984]);
      expect(await birthdate('1984-03')).toEqual([born1984]);
      expect(await birthdate('1984-03-02')).toEqual([born1984]);
      expect(await birthdate('1984-03-03')).toEqual([]);
      // A value of lower precision than the search is not fully contained in it: no eq match.
      expect(await birthdate('1990-06-01')).toEqual([]);
    });

    it('applies the prefixes gt lt ge le sa eb ne ap (search.html#prefix)', async () => {
      const both = [born1984, born1990].sort();
      expect(await birthdate('gt1985')).toEqual([born1990]);
      expect(await birthdate('lt1985')).toEqual([born1984]);
      expect(await birthdate('ge1984-03-02')).toEqual(both);
      expect(await birthdate('le1984-03-02')).toEqual([born1984]);
      expect(await birthdate('sa1984-03-02')).toEqual([born1990]);
      expect(await birthdate('eb1990')).toEqual([born1984]);
      expect(await birthdate('ne1984')).toEqual([born1990]);
      expect(await birthdate('ap1984-03-05')).toEqual([born1984]);
    });

    it('reads ge as gt or eq, le as lt or eq, and a fraction of a second by its digits (search.html#prefix)', async () => {
      const subject = `Patient/${born1984}`;
      // Starts before 3 May and ends inside it: below that day (le), not above it (ge).
      const overnight = await createResource(t, {
        resourceType: 'Encounter',
        status: 'finished',
        class: { code: 'AMB' },
        subject: { reference: subject },
        period: { start: '2020-05-02T23:00:00Z', end: '2020-05-03T01:00:00Z' },
      });
      const encounters = async (value: string) =>
        matchIds(await searchBundle(t, `/fhir/Encounter?subject=${subject}&date=${value}`));
      expect(await encounters('ge2020-05-03')).toEqual([]);
      expect(await encounters('le2020-05-03')).toEqual([overnight]);
      expect(await encounters('ge2020-05-02')).toEqual([overnight]);
      expect(await encounters('le2020-05-02')).toEqual([]);

      const observed = await createResource(t, {
        ...observation(subject),
        effectiveDateTime: '2020-05-02T10:00:00.55Z',
      });
      const observations = async (value: string) =>
        matchIds(await searchBundle(t, `/fhir/Observation?subject=${subject}&date=${value}`));
      // `.5` is .500 up to .600, which holds .550–.559.
      expect(await observations('2020-05-02T10:00:00.5Z')).toEqual([observed]);
      expect(await observations('2020-05-02T10:00:00.4Z')).toEqual([]);
    });

    it('accepts the ends of the FHIR calendar, years 0001 and 9999 (datatypes.html#date)', async () => {
      const both = [born1984, born1990].sort();
      expect(await birthdate('le9999-12-31')).toEqual(both);
      expect(await birthdate('lt9999')).toEqual(both);
      expect(await birthdate('eq9999-12-31')).toEqual([]);
      expect(await birthdate('ge0001-01-01')).toEqual(both);
      expect(await birthdate('ap0001')).toEqual([]);
      const updated = await searchBundle(t, `/fhir/Patient?family=${family}&_lastUpdated=le9999-12-31`);
      expect(matchIds(updated).sort()).toEqual(both);
    });

    it('sorts by a date parameter (search.html#sort)', async () => {
      const newestFirst = await searchBundle(t, `/fhir/Patient?family=${family}&_sort=-birthdate`);
      expect(matchIds(newestFirst)).toEqual([born1990, born1984]);
    });

    it('matches numbers with their implied precision and prefixes (search.html#number)', async () => {
      const subject = `Patient/${born1984}`;
      const risk = (probability: number) =>
        createResource(t, {
          resourceType: 'RiskAssessment',
          status: 'final',
          subject: { reference: subject },
          prediction: [{ probabilityDecimal: probability }],
        });
      const low = await risk(0.25);
      const high = await risk(0.8);
      const search = async (value: string) =>
        matchIds(
          await searchBundle(t, `/fhir/RiskAssessment?subject=${subject}&probability=${value}&_sort=_id`),
        );
      expect(await search('0.8')).toEqual([high]);
      expect(await search('0.3')).toEqual([low]);
      expect(await search('0.30')).toEqual([]);
      expect(await search('gt0.5')).toEqual([high]);
      expect(await search('le0.25')).toEqual([low]);
    });

    it('matches uris exactly and with :below and :above (search.html#uri)', async () => {
      const base = `http://${uniqueName('acme').toLowerCase()}.org/fhir/ValueSet`;
      const id = await createResource(t, { resourceType: 'ValueSet', status: 'draft', url: `${base}/123` });
      const search = async (query: string) => matchIds(await searchBundle(t, `/fhir/ValueSet?${query}`));
      expect(await search(`url=${base}/123`)).toEqual([id]);
      expect(await search(`url=${base}`)).toEqual([]);
      expect(await search(`url:below=${base}`)).toEqual([id]);
      expect(await search(`url:above=${base}/123/_history/5`)).toEqual([id]);
    });
  });
}
