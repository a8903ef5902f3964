/**
 * Real Synthea Bundles (../shared/data/synthea, both sets) posted to `POST /fhir` as the
 * transactions they are (http://hl7.org/fhir/R4/http.html#transaction): the 2019 SMART set links
 * entries by `urn:uuid:`; the 2021 Blaze set refers to its hospital and practitioner Bundles
 * (posted first, a batch of conditional creates) with conditional references
 * (`Organization?identifier=…`, http.html#trules), which must land on the right resources.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireSharedData } from '../../../fhir/test/support/shared-data.ts';
import { testDatabases } from '../support/databases.ts';
import { at, createTestApp, FHIR_JSON, json, type TestApp } from '../support/test-app.ts';

const SYNTHEA = requireSharedData('synthea');
const PATIENT_BUNDLES = 3;
const TIMEOUT_MS = 240_000;

interface SyntheaBundle {
  name: string;
  body: Record<string, unknown>;
}

/** The set's directory Bundles, then its smallest patient Bundles (a handful, quick on CI). */
function bundlesOf(set: string): SyntheaBundle[] {
  const dir = join(SYNTHEA ?? '', set);
  const files = readdirSync(dir).filter((name) => name.endsWith('.json.gz'));
  const directory = files.filter((name) => /hospitalInformation|practitionerInformation/.test(name)).sort();
  const patients = files
    .filter((name) => !directory.includes(name))
    .sort((a, b) => statSync(join(dir, a)).size - statSync(join(dir, b)).size)
    .slice(0, PATIENT_BUNDLES);
  return [...directory, ...patients].map((name) => ({
    name,
    body: json(gunzipSync(readFileSync(join(dir, name))).toString('utf8')),
  }));
}

function entriesOf(body: Record<string, unknown>): Record<string, unknown>[] {
  return Array.isArray(body.entry) ? body.entry : [];
}

for (const database of testDatabases()) {
  for (const set of ['smart-r4-2019', 'blaze-r4-2021']) {
    describe.skipIf(SYNTHEA === null)(`Synthea ${set} as transactions on ${database.name}`, () => {
      let t: TestApp;
      beforeAll(async () => {
        t = await createTestApp(database);
      });
      afterAll(async () => {
        await t?.close();
      });

      it(
        'stores every entry and resolves urn:uuid and conditional references to the right ids (http.html#transaction)',
        async () => {
          const bundles = bundlesOf(set);
          const expected = new Map<string, number>();
          const conditional: { reference: string; from: string }[] = [];
          for (const { name, body } of bundles) {
            const response = await t.app.inject({
              method: 'POST',
              url: '/fhir',
              headers: FHIR_JSON,
              payload: body,
            });
            expect(response.statusCode, `${name}: ${response.body.slice(0, 500)}`).toBe(200);
            const answer = json(response.body);
            expect(answer.type).toBe(`${String(body.type)}-response`);
            for (const [index, entry] of entriesOf(answer).entries()) {
              expect(String(at(entry, 'response', 'status')), `${name} entry ${index}`).toMatch(/^20[01]/);
            }
            for (const entry of entriesOf(body)) {
              const type = String(at(entry, 'resource', 'resourceType'));
              expected.set(type, (expected.get(type) ?? 0) + 1);
            }
            const text = JSON.stringify(body);
            for (const match of text.matchAll(/"reference":"([A-Z][A-Za-z]+\?[^"]+)"/g)) {
              conditional.push({ reference: match[1] ?? '', from: name });
            }
          }
          // Counts: every entry became one resource.
          for (const [type, count] of expected) {
            const page = json(
              (await t.app.inject({ method: 'GET', url: `/fhir/${type}?_summary=count` })).body,
            );
            expect(page.total, type).toBe(count);
          }
          // Conditional references (the 2021 set): each stored reference is the id the criteria find.
          expect(conditional.length > 0).toBe(set === 'blaze-r4-2021');
          const resolve = async (reference: string): Promise<string> => {
            const [type = '', criteria = ''] = reference.split('?');
            const query = criteria.replaceAll('|', '%7C');
            const found = json((await t.app.inject({ method: 'GET', url: `/fhir/${type}?${query}` })).body);
            expect(entriesOf(found), reference).toHaveLength(1);
            return `${type}/${String(at(found, 'entry', 0, 'resource', 'id'))}`;
          };
          for (const { reference } of conditional.slice(0, 20)) await resolve(reference);
          const encounters = json(
            (await t.app.inject({ method: 'GET', url: '/fhir/Encounter?_count=50' })).body,
          );
          expect(entriesOf(encounters).length).toBeGreaterThan(0);
          for (const entry of entriesOf(encounters)) {
            const text = JSON.stringify(at(entry, 'resource'));
            for (const match of text.matchAll(/"reference":"([^"]+)"/g)) {
              const reference = match[1] ?? '';
              expect(reference, 'no urn:uuid or criteria left').toMatch(/^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]+$/);
              const read = await t.app.inject({ method: 'GET', url: `/fhir/${reference}` });
              expect(read.statusCode, reference).toBe(200);
            }
          }
          if (set === 'blaze-r4-2021') {
            // The Encounter's serviceProvider is the Organization its criteria name.
            const [encounter] = entriesOf(bundlesOf(set)[2]?.body ?? {}).filter(
              (entry) => at(entry, 'resource', 'resourceType') === 'Encounter',
            );
            const criteria = String(at(encounter, 'resource', 'serviceProvider', 'reference'));
            const target = await resolve(criteria);
            const stored = json(
              (
                await t.app.inject({
                  method: 'GET',
                  url: `/fhir/Encounter?service-provider=${target}&_count=1`,
                })
              ).body,
            );
            expect(target, criteria).toMatch(/^Organization\//);
            expect(entriesOf(stored).length).toBe(1);
          }
        },
        TIMEOUT_MS,
      );
    });
  }
}
