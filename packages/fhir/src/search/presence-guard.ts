/**
 * A cheap test, run before evaluating one alternative of a search expression, that the elements
 * it starts from are in the resource's JSON. Most alternatives select nothing from a given
 * resource, and a FHIRPath evaluation costs microseconds even then; this runs on every write.
 */
import type { FhirResource } from '../resource.ts';
import { isRecord } from '../resource.ts';
import { rootElements } from './expression.ts';
import { r4Model } from './fhir-model.ts';

/** False when the alternative is sure to select nothing from `resource`. */
export type PresenceGuard = (resource: FhirResource) => boolean;

// `(Observation.value as Quantity)`, `Observation.value.as(Quantity)`, `….ofType(Quantity)`, and
// elements of that one type: `(Observation.value as CodeableConcept).text` (Observation
// value-string, evaluated on every Observation, most of which have a valueQuantity).
const TYPED_CHOICE =
  /^\(*\s*[A-Za-z]+\.([a-z][A-Za-z0-9]*)(?:\s+as\s+|\.as\(|\.ofType\()([A-Za-z]+)\s*\)*(?:\.[a-z][A-Za-z0-9]*)*$/;
// `Resource.meta.profile`: every stored resource has meta, few have profiles, tags or a source.
const META_ELEMENT = /^\(*\s*[A-Za-z]+\.meta\.([a-z][A-Za-z0-9]*)/;

/**
 * The guard of one top-level alternative of an expression over `resourceType`, or undefined when
 * it may select something without its starting elements (see rootElements).
 */
export function presenceGuard(alternative: string, resourceType: string): PresenceGuard | undefined {
  const [element, ...others] = rootElements(alternative, resourceType) ?? [];
  if (element === undefined || others.length > 0) return undefined;
  const choices = r4Model.choiceTypePaths[`${resourceType}.${element}`];
  const typed = TYPED_CHOICE.exec(alternative);
  if (choices && typed?.[1] === element && typed[2] !== undefined) {
    // One type of a choice is one JSON property: `valueQuantity` (formats.html#choice).
    const property = `${element}${upperFirst(typed[2])}`;
    return (resource) => resource[property] !== undefined;
  }
  if (choices) {
    const properties = choices.map((type) => `${element}${type}`);
    return (resource) => properties.some((property) => resource[property] !== undefined);
  }
  const metaElement = element === 'meta' ? META_ELEMENT.exec(alternative)?.[1] : undefined;
  if (metaElement !== undefined) {
    return (resource) => isRecord(resource.meta) && resource.meta[metaElement] !== undefined;
  }
  return (resource) => resource[element] !== undefined;
}

function upperFirst(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

// `code`, `value`, `value.as(Quantity)`, `value.ofType(Quantity)`: one element of an item.
const ITEM_ELEMENT = /^([a-z][A-Za-z0-9]*)(?:\.(?:as|ofType)\(([A-Za-z]+)\))?$/;

/**
 * The guard of one alternative of an expression relative to an item (a composite's component,
 * evaluated on each `Observation.component`), on the item's JSON; undefined when the expression
 * is not a plain element (`%resource.referenceSeq.chromosome`). A choice element is present as
 * any of its typed properties (`valueQuantity`), a typed one as that property.
 */
export function itemPresenceGuard(alternative: string): ((item: unknown) => boolean) | undefined {
  const match = ITEM_ELEMENT.exec(alternative.trim());
  const element = match?.[1];
  if (element === undefined) return undefined;
  const type = match?.[2];
  if (type !== undefined) {
    const property = `${element}${upperFirst(type)}`;
    return (item) => isRecord(item) && (item[property] !== undefined || item[element] !== undefined);
  }
  return (item) =>
    isRecord(item) &&
    (item[element] !== undefined ||
      Object.keys(item).some((key) => key.startsWith(element) && /^[A-Z]/.test(key.slice(element.length))));
}
