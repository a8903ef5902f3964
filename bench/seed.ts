/**
 * Loads the Patients that `read`, `vread` and `update` address, through the FHIR API itself
 * (http.html#create) so that they have exactly the rows, history and index entries a client's
 * writes would produce. Any failed create stops the run: measuring against a half-seeded store
 * would produce 404s that look like server errors.
 */
import { benchPatient } from './patient-fixture.ts';

const parallelCreates = 16;

export async function seedPatients(baseUrl: string, count: number): Promise<string[]> {
  const ids: string[] = new Array(count);
  let next = 0;
  const createNext = async (): Promise<void> => {
    while (next < count) {
      const n = next;
      next += 1;
      ids[n] = await createPatient(baseUrl, n);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallelCreates, count) }, createNext));
  return ids;
}

async function createPatient(baseUrl: string, n: number): Promise<string> {
  const response = await fetch(`${baseUrl}/fhir/Patient`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' },
    body: JSON.stringify(benchPatient(n)),
  });
  const body = await response.text();
  if (response.status !== 201) {
    throw new Error(
      `seeding Patient ${n}: expected 201 Created, got ${response.status}: ${body.slice(0, 500)}`,
    );
  }
  const id = idFromLocation(response.headers.get('location'));
  if (id === undefined) throw new Error(`seeding Patient ${n}: no Location header with Patient/<id>`);
  return id;
}

/** `…/Patient/<id>/_history/<vid>` (http.html#create: the Location header carries the new id). */
function idFromLocation(location: string | null): string | undefined {
  return location?.match(/\/Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/)?.[1];
}
