/**
 * Loads the demo data set through the FHIR core (the same write path as every client), one
 * transaction per patient record, and only into an empty database: `npm start` run twice must not
 * duplicate the patients, and demo data must never be mixed into real data.
 */
import { systemContext } from '../access/request-context.ts';
import type { FhirCore, FhirResponse } from '../fhir/interaction.ts';
import type { ResourceStore } from '../store/port.ts';
import { demoDataSet } from './demo-data-set.ts';
import { demoTerminologyBundle } from './demo-terminology.ts';

export type DemoLoadResult =
  | { loaded: true; patients: number; resources: number; seconds: number }
  | { loaded: false; reason: 'database-not-empty' };

export async function loadDemoData(
  core: FhirCore,
  store: Pick<ResourceStore, 'history'>,
): Promise<DemoLoadResult> {
  const ctx = systemContext('demo');
  const anything = await store.history(ctx, { count: 1 });
  if (anything.versions.length > 0) return { loaded: false, reason: 'database-not-empty' };

  const startedAt = performance.now();
  const { directory, patients } = demoDataSet();
  let resources = 0;
  // The terminology first: the patients' diagnoses are checked against it (master data).
  for (const bundle of [demoTerminologyBundle(), directory, ...patients]) {
    const response = await core.handle(ctx, {
      method: 'POST',
      path: '',
      query: [],
      headers: {},
      body: bundle,
    });
    if (response.status !== 200) throw new DemoDataError(response);
    resources += Array.isArray(bundle.entry) ? bundle.entry.length : 0;
  }
  return {
    loaded: true,
    patients: patients.length,
    resources,
    seconds: (performance.now() - startedAt) / 1000,
  };
}

/** The demo data are ours: the core rejecting them is a bug in the generator or the core. */
export class DemoDataError extends Error {
  override name = 'DemoDataError';

  constructor(response: FhirResponse) {
    const body = response.body;
    const detail =
      body?.kind === 'json' ? body.json : body?.kind === 'resource' ? JSON.stringify(body.resource) : '';
    super(`The demo data set was rejected with status ${response.status}: ${detail}`);
  }
}
