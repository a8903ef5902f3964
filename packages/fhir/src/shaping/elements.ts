/**
 * `_elements` on reads and search results (http://hl7.org/fhir/R4/search.html#elements): the
 * listed top-level elements, plus mandatory ones, id, meta and resourceType, tagged SUBSETTED.
 * R4 only defines top-level names; a name may carry the type prefix (`Patient.name`), a choice
 * may be named by its base (`value` keeps `valueQuantity`), and names the type does not have are
 * ignored, as the spec allows servers to do.
 */
import { fhirError } from '../outcome.ts';
import type { FhirResource } from '../resource.ts';
import { tagSubsetted } from './subsetted.ts';
import { elementFlags, elementTable } from './summary-elements.ts';

const NAME = /^(?:[A-Z][A-Za-z]*\.)?[a-z][A-Za-z0-9]*$/;

/** Reads `_elements=a,b,c`; an empty or malformed list is a client error. */
export function parseElementsParameter(value: string): string[] {
  const names = value.split(',').map((name) => name.trim());
  const bad = names.find((name) => !NAME.test(name));
  if (bad !== undefined) {
    throw fhirError('invalid', 'invalid', `_elements: "${bad}" is not an element name`, ['_elements']);
  }
  return names;
}

function selects(
  requested: ReadonlySet<string>,
  resourceType: string,
  name: string,
  choiceBase?: string,
): boolean {
  return [name, choiceBase].some(
    (candidate) =>
      candidate !== undefined && (requested.has(candidate) || requested.has(`${resourceType}.${candidate}`)),
  );
}

export function selectElements(resource: FhirResource, elements: readonly string[]): FhirResource {
  const requested = new Set(elements);
  const table = elementTable(resource.resourceType);
  const kept: FhirResource = { resourceType: resource.resourceType };
  for (const [key, value] of Object.entries(resource)) {
    const flags = table ? elementFlags(table, key) : undefined;
    const name = key.startsWith('_') ? key.slice(1) : key;
    if (
      key === 'id' ||
      key === 'meta' ||
      flags?.mandatory ||
      selects(requested, resource.resourceType, name, flags?.choiceBase)
    ) {
      kept[key] = value;
    }
  }
  return tagSubsetted(kept);
}
