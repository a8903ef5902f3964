/**
 * Turns what a search parameter's expression selects into index entries, by FHIR data type
 * (http://hl7.org/fhir/R4/search.html#token, #string, #reference, #uri; dates and numbers have
 * their own modules), plus the rows the token `:text`/`:of-type` and reference `:identifier`
 * modifiers search (search.html#modifiers; see index-types.ts). The type comes from the
 * fhirpath.js model (`ResourceNode.fhirNodeDataType`), not from the JSON's shape: an Identifier
 * and a ContactPoint both have `system` and `value` but index differently.
 */
import { isRecord } from '../resource.ts';
import {
  identifierOfTypeCode,
  identifierOfTypeParam,
  type ReferenceIndexEntry,
  referenceIdentifierParam,
  type StringIndexEntry,
  type TokenIndexEntry,
  tokenTextParam,
  type UriIndexEntry,
} from './index-types.ts';
import { normalizeString } from './normalize-string.ts';
import { containedTarget, referenceTarget } from './reference-target.ts';

/** One selected value with its FHIR type (`Coding`, `code`, `System.String`, …) when known. */
export interface TypedValue {
  type: string | null;
  data: unknown;
}

/**
 * Reads fhirpath.js results evaluated with `resolveInternalTypes: false`: ResourceNodes for
 * elements of the resource, plain values for computed ones (`deceased.exists() and …`).
 */
export function typedValues(results: readonly unknown[]): TypedValue[] {
  return results.map((result) => {
    if (isRecord(result) && 'data' in result && 'fhirNodeDataType' in result) {
      const type = result.fhirNodeDataType;
      return { type: typeof type === 'string' ? type : null, data: result.data };
    }
    return { type: null, data: result };
  });
}

type TokenValue = Omit<TokenIndexEntry, 'param'>;

export function tokenEntries(param: string, values: readonly TypedValue[]): TokenIndexEntry[] {
  return unique(
    values.flatMap(({ type, data }) => tokensOf(type, data).map((token) => ({ param, ...token }))),
    (entry) => `${entry.system ?? ''}|${entry.code}`,
  );
}

function tokensOf(type: string | null, data: unknown): TokenValue[] {
  const primitive = primitiveText(data);
  if (primitive !== undefined) return [{ system: null, code: primitive }];
  if (!isRecord(data)) return [];
  switch (type) {
    case 'Coding':
      return codingToken(data);
    case 'CodeableConcept':
      return Array.isArray(data.coding) ? data.coding.filter(isRecord).flatMap(codingToken) : [];
    case 'Identifier':
      return typeof data.value === 'string' ? [{ system: text(data.system), code: data.value }] : [];
    case 'ContactPoint':
      // The token table leaves ContactPoint's system empty: `phone`/`email` is not a code system.
      return typeof data.value === 'string' ? [{ system: null, code: data.value }] : [];
    default:
      return [];
  }
}

function codingToken(coding: Record<string, unknown>): TokenValue[] {
  return typeof coding.code === 'string' ? [{ system: text(coding.system), code: coding.code }] : [];
}

/**
 * Rows for token `:text` (search.html#modifiers: "CodeableConcept.text, Coding.display, or
 * Identifier.type.text"): a CodeableConcept contributes its text and its codings' displays.
 */
export function tokenTextEntries(param: string, values: readonly TypedValue[]): StringIndexEntry[] {
  const texts = values.flatMap(({ type, data }) => tokenTextsOf(type, data));
  return stringEntries(
    tokenTextParam(param),
    texts.map((text) => ({ type: 'string', data: text })),
  );
}

function tokenTextsOf(type: string | null, data: unknown): string[] {
  if (!isRecord(data)) return [];
  switch (type) {
    case 'Coding':
      return texts(data.display);
    case 'CodeableConcept': {
      const codings = Array.isArray(data.coding) ? data.coding.filter(isRecord) : [];
      return [...texts(data.text), ...codings.flatMap((coding) => texts(coding.display))];
    }
    case 'Identifier':
      return isRecord(data.type) ? texts(data.type.text) : [];
    default:
      return [];
  }
}

/**
 * Rows for token `:of-type` (search.html#modifiers): one per coding of `Identifier.type`, keyed by
 * its system and by its code joined to the identifier's value (see identifierOfTypeCode).
 */
export function identifierOfTypeEntries(param: string, values: readonly TypedValue[]): TokenIndexEntry[] {
  const entries: TokenIndexEntry[] = [];
  for (const { type, data } of values) {
    if (type !== 'Identifier' || !isRecord(data) || typeof data.value !== 'string') continue;
    const codings = isRecord(data.type) && Array.isArray(data.type.coding) ? data.type.coding : [];
    for (const coding of codings) {
      if (!isRecord(coding) || typeof coding.code !== 'string') continue;
      entries.push({
        param: identifierOfTypeParam(param),
        system: text(coding.system),
        code: identifierOfTypeCode(coding.code, data.value),
      });
    }
  }
  return unique(entries, (entry) => `${entry.system ?? ''}|${entry.code}`);
}

/** Rows for reference `:identifier` (search.html#reference): `Reference.identifier` as a token. */
export function referenceIdentifierEntries(param: string, values: readonly TypedValue[]): TokenIndexEntry[] {
  const entries: TokenIndexEntry[] = [];
  for (const { type, data } of values) {
    if (type !== 'Reference' || !isRecord(data) || !isRecord(data.identifier)) continue;
    const { system, value } = data.identifier;
    if (typeof value !== 'string' || value.length === 0) continue;
    entries.push({ param: referenceIdentifierParam(param), system: text(system), code: value });
  }
  return unique(entries, (entry) => `${entry.system ?? ''}|${entry.code}`);
}

const HUMAN_NAME_PARTS = ['family', 'given', 'prefix', 'suffix', 'text'] as const;
const ADDRESS_PARTS = ['line', 'city', 'district', 'state', 'postalCode', 'country', 'text'] as const;

export function stringEntries(param: string, values: readonly TypedValue[]): StringIndexEntry[] {
  return unique(
    values
      .flatMap(({ type, data }) => stringsOf(type, data))
      .filter((value) => value.trim().length > 0)
      .map((value) => ({ param, value, normalized: normalizeString(value) })),
    (entry) => entry.value,
  );
}

function stringsOf(type: string | null, data: unknown): string[] {
  if (typeof data === 'string') return [data];
  if (!isRecord(data)) return [];
  if (type === 'HumanName') return HUMAN_NAME_PARTS.flatMap((part) => texts(data[part]));
  if (type === 'Address') return ADDRESS_PARTS.flatMap((part) => texts(data[part]));
  return [];
}

/**
 * @param container the resource being indexed, whose `contained` names the type of a `#id` target.
 */
export function referenceEntries(
  param: string,
  values: readonly TypedValue[],
  isResourceType: (type: string) => boolean,
  container: unknown,
): ReferenceIndexEntry[] {
  const entries: ReferenceIndexEntry[] = [];
  for (const { type, data } of values) {
    // canonical/uri values of reference parameters are matched by URL, not by `Type/id`.
    if (type !== 'Reference' || !isRecord(data) || typeof data.reference !== 'string') continue;
    const target =
      containedTarget(data.reference, container) ?? referenceTarget(data.reference, isResourceType);
    if (target) entries.push({ param, targetType: target.type, targetId: target.id });
  }
  return unique(entries, (entry) => `${entry.targetType}/${entry.targetId}`);
}

/** uri, url, canonical, oid and uuid values are all text (search.html#uri); a Reference is not. */
export function uriEntries(param: string, values: readonly TypedValue[]): UriIndexEntry[] {
  return unique(
    values.flatMap(({ data }) =>
      typeof data === 'string' && data.length > 0 ? [{ param, value: data }] : [],
    ),
    (entry) => entry.value,
  );
}

/** `code`, `boolean`, `id`, `uri`, `string`, … as the token/string text (`true`/`false` for booleans). */
function primitiveText(data: unknown): string | undefined {
  if (typeof data === 'string') return data.length > 0 ? data : undefined;
  if (typeof data === 'boolean' || typeof data === 'number' || typeof data === 'bigint') return String(data);
  return undefined;
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function texts(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function unique<T>(entries: T[], key: (entry: T) => string): T[] {
  if (entries.length < 2) return entries;
  const seen = new Set<string>();
  return entries.filter((entry) => {
    const k = key(entry);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
