/**
 * The `fhir` terminology import: CodeSystem, ValueSet, ConceptMap and NamingSystem resources from a
 * file, folder or NPM package are stored through the FHIR core as any client's would be (history,
 * audit, ledger, validation — DESIGN.md rule 1), so that the terminology service finds them by
 * canonical URL. Storing is also what fills the concept tables: the core's terminology write hooks
 * (terminology-write-hooks.ts) load a CodeSystem's concepts and a ConceptMap's elements in the
 * same transaction, tied to the stored resource; loading them again here would cut that tie.
 * A resource with an id is PUT to that id; one without is a conditional update on url+version,
 * so importing the same package again changes nothing and duplicates nothing. Other resource
 * types are skipped (that is `concordia import`'s job), and one resource that fails does not
 * stop the rest.
 */

import { systemContext } from '../../access/request-context.ts';
import type { FhirCore } from '../../fhir/interaction.ts';
import { applyImportUnit, type ImportFailure } from '../../import/apply-import-unit.ts';
import { type ImportUnit, importUnits } from '../../import/import-requests.ts';
import { codeSystemResourceContent, conceptMapResourceContent } from '../code-system-resource.ts';
import { type FhirResourceItem, readFhirResources } from './fhir-resource-files.ts';

export const TERMINOLOGY_RESOURCE_TYPES: ReadonlySet<string> = new Set([
  'CodeSystem',
  'ValueSet',
  'ConceptMap',
  'NamingSystem',
]);

export interface FhirTerminologySummary {
  resources: number;
  codeSystems: number;
  concepts: number;
  conceptMaps: number;
  mapElements: number;
  /** Resources of other types, left to `concordia import`. */
  skipped: number;
  failures: ImportFailure[];
}

export interface FhirTerminologyObserver {
  /** After each resource, with the running totals. */
  progressed?(summary: Readonly<FhirTerminologySummary>): void;
  failed?(failure: ImportFailure): void;
}

export async function importFhirTerminology(
  deps: { core: FhirCore },
  path: string,
  observer: FhirTerminologyObserver = {},
): Promise<FhirTerminologySummary> {
  const ctx = systemContext('terminology-import');
  const summary: FhirTerminologySummary = {
    resources: 0,
    codeSystems: 0,
    concepts: 0,
    conceptMaps: 0,
    mapElements: 0,
    skipped: 0,
    failures: [],
  };
  const fail = (failure: ImportFailure) => {
    summary.failures.push(failure);
    observer.failed?.(failure);
  };
  for await (const item of readFhirResources(path)) {
    if (item.kind === 'unreadable') {
      fail({ location: item.location, diagnostics: item.reason });
      continue;
    }
    const type = String(item.resource.resourceType);
    if (!TERMINOLOGY_RESOURCE_TYPES.has(type)) {
      summary.skipped += 1;
      continue;
    }
    const stored = await applyImportUnit(deps.core, ctx, storeUnit(item));
    if (stored.failures.length > 0) {
      for (const failure of stored.failures) fail(failure);
      continue;
    }
    summary.resources += 1;
    await countContent(item.resource, summary);
    observer.progressed?.(summary);
  }
  return summary;
}

/** What the write hooks loaded for the resource, counted from the same conversion they use. */
async function countContent(
  resource: Record<string, unknown>,
  summary: FhirTerminologySummary,
): Promise<void> {
  if (resource.resourceType === 'CodeSystem') {
    const content = codeSystemResourceContent(resource);
    if (content === undefined) return;
    summary.codeSystems += 1;
    for await (const _concept of content.concepts) summary.concepts += 1;
  } else if (resource.resourceType === 'ConceptMap') {
    const content = conceptMapResourceContent(resource);
    if (content === undefined) return;
    summary.conceptMaps += 1;
    for await (const _mapping of content.mappings) summary.mapElements += 1;
  }
}

/** PUT by id; without an id, a conditional update on the canonical url (and version). */
function storeUnit(item: Extract<FhirResourceItem, { kind: 'resource' }>): ImportUnit {
  const { resource, location } = item;
  if (resource.id !== undefined || typeof resource.url !== 'string') {
    const [unit] = importUnits(resource, location);
    return unit ?? { kind: 'rejected', location, reason: 'nothing to import' };
  }
  const query: [string, string][] = [['url', resource.url]];
  if (typeof resource.version === 'string') query.push(['version', resource.version]);
  return {
    kind: 'resource',
    location,
    request: {
      method: 'PUT',
      path: String(resource.resourceType),
      query,
      headers: { contentType: 'application/fhir+json', prefer: 'return=minimal' },
      body: resource,
      skipUnchanged: true,
    },
  };
}
