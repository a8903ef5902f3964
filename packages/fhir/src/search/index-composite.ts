/**
 * Composite and position index entries (http://hl7.org/fhir/R4/search.html#composite, #special).
 *
 * A composite row combines values that come from one item — one `Observation.component`, one
 * `useContext` — so that `component-code-value-quantity=…8480-6$lt60` never pairs the systolic
 * code with the diastolic value. Each component's values are turned into entries exactly as the
 * parameter it names would be indexed on its own (tokens, quantities in canonical UCUM units,
 * date ranges, folded strings, …), and the row set is every combination of them.
 */
import { fhirError } from '../outcome.ts';
import { isRecord } from '../resource.ts';
import type { CompositeValueType } from './composite-components.ts';
import { dateEntries } from './index-dates.ts';
import { numberEntries, quantityEntries } from './index-numbers.ts';
import type { CompositeIndexEntry, CompositeValueEntry, PositionIndexEntry } from './index-types.ts';
import {
  referenceEntries,
  stringEntries,
  type TypedValue,
  tokenEntries,
  uriEntries,
} from './index-values.ts';

/**
 * One item rarely yields more than a few combinations (a code with two codings × one value); a
 * resource built to multiply codings must not turn one write into millions of rows.
 */
const MAX_COMBINATIONS_PER_ITEM = 1000;

/**
 * The rows of one item of composite parameter `param`: every combination of its components'
 * entries (componentEntries), the first a token, the third, if any, a number.
 */
export function compositeEntries(
  param: string,
  components: readonly (readonly CompositeValueEntry[])[],
): CompositeIndexEntry[] {
  const [firsts = [], values = [], thirds] = components;
  const numbers: (string | undefined)[] =
    thirds === undefined
      ? [undefined]
      : thirds.flatMap((third) => (third.type === 'number' ? [third.value] : []));
  const combinations = firsts.length * values.length * numbers.length;
  if (combinations > MAX_COMBINATIONS_PER_ITEM) {
    throw fhirError(
      'unprocessable',
      'too-costly',
      `Search parameter '${param}' would index ${combinations} combinations of one element (at most ${MAX_COMBINATIONS_PER_ITEM})`,
    );
  }
  const entries: CompositeIndexEntry[] = [];
  for (const first of firsts) {
    if (first.type !== 'token') continue;
    for (const value of values) {
      for (const number of numbers) {
        entries.push({
          param,
          system: first.system,
          code: first.code,
          value,
          ...(number !== undefined ? { third: number } : {}),
        });
      }
    }
  }
  return entries;
}

/** What one component selects from one item, as the entries its own parameter type would index. */
export function componentEntries(
  type: CompositeValueType,
  values: readonly TypedValue[],
  isResourceType: (type: string) => boolean,
  container: unknown,
): CompositeValueEntry[] {
  // The entry builders name a parameter; the composite row names its own.
  const param = '';
  switch (type) {
    case 'token':
      return tokenEntries(param, values).map(({ system, code }) => ({ type, system, code }));
    case 'number':
      return numberEntries(param, values).map(({ value, low, high }) => ({ type, value, low, high }));
    case 'quantity':
      return quantityEntries(param, values).map(({ param: _, ...quantity }) => ({ type, ...quantity }));
    case 'date':
      return dateEntries(param, values).map(({ low, high }) => ({ type, low, high }));
    case 'string':
      return stringEntries(param, values).map(({ normalized }) => ({ type, normalized }));
    case 'reference':
      return referenceEntries(param, values, isResourceType, container).map(({ targetType, targetId }) => ({
        type,
        targetType,
        targetId,
      }));
    case 'uri':
      return uriEntries(param, values).map(({ value }) => ({ type, value }));
  }
}

/**
 * Positions selected by a `nearby` parameter (Location.position: WGS84 decimal degrees,
 * location.html#position). One without a valid latitude and longitude cannot be near anything.
 */
export function positionEntries(param: string, values: readonly TypedValue[]): PositionIndexEntry[] {
  const entries: PositionIndexEntry[] = [];
  for (const { data } of values) {
    if (!isRecord(data)) continue;
    const { latitude, longitude } = data;
    if (typeof latitude !== 'number' || typeof longitude !== 'number') continue;
    if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) continue;
    if (entries.some((entry) => entry.latitude === latitude && entry.longitude === longitude)) continue;
    entries.push({ param, latitude, longitude });
  }
  return entries;
}
