/**
 * Turns one Synthea resource into its copy number `copy`: a new id, every reference pointing at
 * the copy's ids, family names with a per-copy syllable, identifiers unique to the copy, and dates
 * moved by the copy's day shift. Pure and deterministic: the same copy of the same source gives the
 * same output on every run, so a dataset regenerated on another machine has the same ids.
 */
import { createHash } from 'node:crypto';
import { isDateElement, shiftFhirDate } from './fhir-date-shift.ts';
import { isJsonObject, type JsonObject } from './json-value.ts';

export interface CopyRules {
  copy: number;
  /** Days added to every date of this copy (negative: copies move into the past, never the future). */
  dayShift: number;
  /** Appended to every family name; empty for copy 0, which keeps Synthea's names. */
  familySuffix: string;
  /** The resource type of each source id, for turning `urn:uuid:` references into `Type/id`. */
  typeOfSourceId: ReadonlyMap<string, string>;
}

/** Days between copies: 97 is prime, so copies do not line up on weekdays or month ends. */
const daysBetweenCopies = 97;
const consonants = ['b', 'd', 'k', 'l', 'm', 'n', 'r', 's', 't', 'v', 'z'];
const vowels = ['a', 'e', 'i', 'o', 'u'];

export function copyRules(copy: number, typeOfSourceId: ReadonlyMap<string, string>): CopyRules {
  return { copy, dayShift: -copy * daysBetweenCopies, familySuffix: familySyllable(copy), typeOfSourceId };
}

/** Copy 0 → "", 1 → "de", 2 → "ki", …: a pronounceable, distinct suffix per copy. */
export function familySyllable(copy: number): string {
  let syllables = '';
  for (let rest = copy; rest > 0; rest = Math.floor(rest / consonants.length)) {
    syllables += `${consonants[rest % consonants.length] ?? ''}${vowels[rest % vowels.length] ?? ''}`;
  }
  return syllables;
}

/**
 * A UUID (version 5 layout: SHA-1 of a name) for source id `sourceId` in copy `copy`. A real
 * UUIDv5 hashes a namespace UUID's bytes; a fixed text prefix serves the same purpose here.
 */
export function copyId(copy: number, sourceId: string): string {
  const hash = createHash('sha1').update(`concordia-bench/synthea/${copy}/${sourceId}`).digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface CopiedResource {
  resourceType: string;
  id: string;
  resource: JsonObject;
  /** References whose target is not in the source data (left pointing at a copy id nobody writes). */
  danglingReferences: number;
}

/** Rewrites `resource` (a freshly parsed source resource, mutated in place) into the copy. */
export function copyResource(resource: JsonObject, sourceId: string, rules: CopyRules): CopiedResource {
  const resourceType = typeof resource.resourceType === 'string' ? resource.resourceType : 'Unknown';
  const id = copyId(rules.copy, sourceId);
  const counter = { dangling: 0 };
  rewrite(resource, rules, counter);
  resource.id = id;
  if (resourceType === 'Patient' || resourceType === 'Practitioner') renameFamilies(resource, rules);
  return { resourceType, id, resource, danglingReferences: counter.dangling };
}

function rewrite(node: JsonObject, rules: CopyRules, counter: { dangling: number }): void {
  for (const [key, value] of Object.entries(node)) {
    if (typeof value === 'string') {
      if (key === 'reference') node[key] = copyReference(value, rules, counter);
      else if (isDateElement(key)) node[key] = shiftFhirDate(value, rules.dayShift);
    } else if (Array.isArray(value)) {
      for (const item of value) if (isJsonObject(item)) rewrite(item, rules, counter);
    } else if (isJsonObject(value)) {
      rewrite(value, rules, counter);
    }
    if (key === 'identifier') uniqueIdentifiers(value, rules);
  }
}

function copyReference(reference: string, rules: CopyRules, counter: { dangling: number }): string {
  if (reference.startsWith('#')) return reference; // contained resource: local to the resource
  const sourceId = reference.startsWith('urn:uuid:')
    ? reference.slice('urn:uuid:'.length)
    : reference.slice(reference.indexOf('/') + 1);
  const type = reference.startsWith('urn:uuid:')
    ? rules.typeOfSourceId.get(sourceId)
    : reference.slice(0, reference.indexOf('/'));
  if (type === undefined || type === '' || !rules.typeOfSourceId.has(sourceId)) counter.dangling += 1;
  // The importer PUTs each resource on its own, so `urn:uuid:` (resolved only inside a
  // transaction) must become a literal `Type/id` reference.
  return `${type ?? 'Resource'}/${copyId(rules.copy, sourceId)}`;
}

/**
 * An identifier whose value is a source resource id becomes that resource's copy id; any other
 * value (in this sample: all of them — Synthea's record numbers are its file uuids, not resource
 * ids) gets `-<copy>`, so each copy's identifiers are its own and `identifier=` finds one patient.
 */
function uniqueIdentifiers(value: unknown, rules: CopyRules): void {
  const identifiers = Array.isArray(value) ? value : [value];
  for (const identifier of identifiers) {
    if (!isJsonObject(identifier) || typeof identifier.value !== 'string') continue;
    identifier.value = rules.typeOfSourceId.has(identifier.value)
      ? copyId(rules.copy, identifier.value)
      : `${identifier.value}-${rules.copy}`;
  }
}

function renameFamilies(resource: JsonObject, rules: CopyRules): void {
  const names = Array.isArray(resource.name) ? resource.name : [];
  for (const name of names) {
    if (isJsonObject(name) && typeof name.family === 'string') name.family += rules.familySuffix;
  }
}
