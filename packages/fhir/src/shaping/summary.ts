/**
 * `_summary` on reads and search results (http://hl7.org/fhir/R4/search.html#summary).
 *
 * `true` keeps the elements the base definition marks isSummary, plus mandatory and modifier
 * elements, at the top level and inside the resource's own backbone elements (Patient.link,
 * Observation.component…), whose children carry their own flags in the same StructureDefinition.
 * Values of datatypes (HumanName, CodeableConcept…) are kept whole: their children's flags live in
 * the datatype definitions and are almost all summary, so filtering them would cost a second
 * table for nearly no saving. Types without a definition are returned unchanged.
 */
import { fhirError } from '../outcome.ts';
import { type FhirResource, isRecord } from '../resource.ts';
import { tagSubsetted } from './subsetted.ts';
import { type ElementFlags, elementFlags, elementTable } from './summary-elements.ts';

export type SummaryMode = 'true' | 'text' | 'data' | 'count' | 'false';

const MODES: readonly SummaryMode[] = ['true', 'text', 'data', 'count', 'false'];

/** Reads the `_summary` parameter; an unknown value is a client error, not something to ignore. */
export function parseSummaryMode(value: string): SummaryMode {
  const mode = MODES.find((candidate) => candidate === value);
  if (mode === undefined) {
    throw fhirError('invalid', 'invalid', `_summary must be one of ${MODES.join(', ')}, not "${value}"`, [
      '_summary',
    ]);
  }
  return mode;
}

/** The elements every subset keeps besides what the mode selects. */
const ALWAYS = new Set(['resourceType', 'id', 'meta']);

function keepForSummary(flags: ElementFlags): boolean {
  return flags.summary || flags.mandatory || flags.modifier;
}

function filterElement(value: unknown, path: string | undefined): unknown {
  if (path === undefined) return value;
  if (Array.isArray(value)) return value.map((item) => filterElement(item, path));
  return isRecord(value) ? filterObject(value, path) : value;
}

function filterObject(object: Record<string, unknown>, path: string): Record<string, unknown> {
  const table = elementTable(path);
  if (table === undefined) return object;
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    const flags = elementFlags(table, key);
    if (flags && keepForSummary(flags)) kept[key] = filterElement(value, flags.backbonePath);
  }
  return kept;
}

function summaryTrue(resource: FhirResource): FhirResource {
  const table = elementTable(resource.resourceType);
  if (table === undefined) return resource;
  const kept = filterObject(resource, resource.resourceType);
  return tagSubsetted({ ...kept, resourceType: resource.resourceType });
}

function summaryText(resource: FhirResource): FhirResource {
  const table = elementTable(resource.resourceType);
  const kept: FhirResource = { resourceType: resource.resourceType };
  for (const [key, value] of Object.entries(resource)) {
    const mandatory = table ? elementFlags(table, key)?.mandatory === true : false;
    if (ALWAYS.has(key) || key === 'text' || mandatory) kept[key] = value;
  }
  return tagSubsetted(kept);
}

/**
 * Shapes one resource for `_summary`. `count` has no meaning for a single resource (the search
 * interaction answers it with a total and no entries), so it is refused here.
 */
export function applySummary(resource: FhirResource, mode: SummaryMode): FhirResource {
  switch (mode) {
    case 'false':
      return resource;
    case 'true':
      return summaryTrue(resource);
    case 'text':
      return summaryText(resource);
    case 'data': {
      const { text: _text, ...rest } = resource;
      return tagSubsetted({ ...rest, resourceType: resource.resourceType });
    }
    case 'count':
      throw fhirError('invalid', 'invalid', '_summary=count applies to searches only', ['_summary']);
  }
}
