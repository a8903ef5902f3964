/**
 * `near` on Location (http://hl7.org/fhir/R4/search.html#special, SearchParameter Location-near):
 * `[latitude]|[longitude]|[distance]|[units]`, WGS84 decimal degrees. The units are a UCUM length
 * (`km`, `m`, `[mi_i]`, …) and default to km, as the definition says; the distance is at the
 * server's discretion when omitted: here `DEFAULT_NEAR_DISTANCE_KM`.
 * Any special parameter with xpathUsage `nearby` is read this way; other special ones are refused.
 */
import { formatDecimal, parseDecimal } from '../decimal.ts';
import { canonicalUnit } from '../ucum-canonical.ts';
import { splitUnescaped, unescapeSearchValue } from './escaping.ts';
import { type FilterContext, splitAlternatives, valueFilter } from './filter-values.ts';
import { malformed, unsupported } from './parameter-issue.ts';
import type { NearValue, SearchFilter } from './search-query.ts';

/** "Near" without a distance: 5 km, a walk or a short drive — a neighbourhood, not a region. */
export const DEFAULT_NEAR_DISTANCE_KM = 5;

const DEFAULT_UNIT = 'km';
const METRE = 'm';
const DEGREES = /^[+-]?\d+(?:\.\d+)?$/;

export function nearFilter(context: FilterContext, raw: string): SearchFilter {
  const { parameter, definition, modifier } = context;
  if (definition.xpathUsage !== 'nearby') {
    throw unsupported(parameter, `Special parameter '${definition.code}' is not supported`);
  }
  if (modifier === 'missing') return valueFilter(context, raw);
  if (modifier !== undefined) {
    throw unsupported(parameter, `Modifier ':${modifier}' is not defined for '${definition.code}'`);
  }
  const values = splitAlternatives(parameter, raw).map((value) => nearValue(parameter, value));
  return { kind: 'near', parameter, code: definition.code, values };
}

function nearValue(parameter: string, raw: string): NearValue {
  const parts = splitUnescaped(raw, '|').map(unescapeSearchValue);
  const [latitudeText = '', longitudeText = '', distanceText = '', unit = '', ...more] = parts;
  if (parts.length < 2 || more.length > 0) {
    throw malformed(parameter, `'${raw}' is not latitude|longitude|distance|units (search.html#special)`);
  }
  const latitude = degrees(parameter, latitudeText, 90, 'latitude');
  const longitude = degrees(parameter, longitudeText, 180, 'longitude');
  if (distanceText === '') {
    if (unit !== '') throw malformed(parameter, `'${raw}' names units without a distance`);
    return { latitude, longitude, radiusMetres: DEFAULT_NEAR_DISTANCE_KM * 1000 };
  }
  return {
    latitude,
    longitude,
    radiusMetres: metres(parameter, distanceText, unit === '' ? DEFAULT_UNIT : unit),
  };
}

function degrees(parameter: string, text: string, limit: number, name: string): number {
  const value = Number(text);
  if (!DEGREES.test(text) || Math.abs(value) > limit) {
    throw malformed(parameter, `'${text}' is not a ${name} in decimal degrees (±${limit})`);
  }
  return value;
}

/** The distance in metres, converted exactly from its UCUM unit. */
function metres(parameter: string, text: string, unit: string): number {
  const distance = parseDecimal(text);
  if (distance === undefined || distance.coefficient < 0n) {
    throw malformed(parameter, `'${text}' is not a distance (a number ≥ 0)`);
  }
  const canonical = canonicalUnit(unit);
  const converted = canonical?.code === METRE ? canonical.toCanonical(distance) : undefined;
  if (converted === undefined) {
    throw malformed(parameter, `'${unit}' is not a UCUM unit of length (km, m, [mi_i], …)`);
  }
  return Number(formatDecimal(converted));
}
