/**
 * UCUM quantities in canonical (base) units, so that `5.4 mg` and `5400 ug` index and search as
 * the same `0.0054 g` (http://hl7.org/fhir/R4/search.html#quantity, "canonical units").
 * Conversion uses `@lhncbc/ucum-lhc` (DESIGN.md D4), loaded on first use (~100 ms) and asked once
 * per unit code: a lookup costs ~70 µs, too much for every write.
 */
import { createRequire } from 'node:module';
import { isRecord } from '../resource.ts';
import { type Decimal, decimalFromNumber, multiply } from './decimal.ts';

export const UCUM_SYSTEM = 'http://unitsofmeasure.org';

/** A unit's canonical code (`g.m-3`) and how to bring a value into it. */
export interface CanonicalUnit {
  code: string;
  toCanonical: (value: Decimal) => Decimal | undefined;
}

interface UcumUtilities {
  convertToBaseUnits(unit: string, value: number): unknown;
  getSpecifiedUnit(unit: string, valConv: 'validate'): unknown;
}

interface UcumPackage {
  UcumLhcUtils: { getInstance(): UcumUtilities };
}

/** Bounds the cache: unit codes come from clients, and a flood of made-up ones must not grow it. */
const MAX_CACHED_UNITS = 10_000;
/** Float noise of ucum-lhc's arithmetic sits in the 16th–17th digit; 15 keep the real ones. */
const SIGNIFICANT_DIGITS = 15;

const cache = new Map<string, CanonicalUnit | null>();
let ucum: UcumUtilities | null | undefined;

/** The canonical form of UCUM code `unit`, or null when UCUM cannot convert it (never throws). */
export function canonicalUnit(unit: string): CanonicalUnit | null {
  const cached = cache.get(unit);
  if (cached !== undefined) return cached;
  const canonical = lookUp(unit);
  if (cache.size >= MAX_CACHED_UNITS) cache.clear();
  cache.set(unit, canonical);
  return canonical;
}

function lookUp(unit: string): CanonicalUnit | null {
  const utilities = ucumUtilities();
  if (!utilities) return null;
  const base = toBaseUnits(utilities, unit, 1);
  if (!base) return null;
  if (base.special) {
    // Celsius, pH, …: not a factor but a function (37 Cel = 310.15 K), applied to each value.
    return {
      code: base.code,
      toCanonical: (value) => {
        const converted = toBaseUnits(utilities, unit, Number(formatForFloat(value)));
        return converted ? rounded(converted.magnitude) : undefined;
      },
    };
  }
  const factor = rounded(base.magnitude);
  if (!factor) return null;
  return { code: base.code, toCanonical: (value) => multiply(value, factor) };
}

interface BaseUnits {
  code: string;
  magnitude: number;
  special: boolean;
}

function toBaseUnits(utilities: UcumUtilities, unit: string, value: number): BaseUnits | undefined {
  let result: unknown;
  try {
    result = utilities.convertToBaseUnits(unit, value);
  } catch {
    // A unit that trips the library is one we cannot canonicalise; the write goes on without it.
    return undefined;
  }
  if (!isRecord(result) || result.status !== 'succeeded') return undefined;
  const { magnitude, unitToExp, fromUnitIsSpecial } = result;
  if (typeof magnitude !== 'number' || !Number.isFinite(magnitude) || !isRecord(unitToExp)) return undefined;
  const exponents = { ...unitToExp, mol: moleExponent(utilities, unit) };
  return { code: canonicalCode(exponents), magnitude, special: fromUnitIsSpecial === true };
}

/**
 * UCUM defines the mole as 6.0221367e23 of a count, so base units alone make `mmol/L` and
 * `10*3/uL` the same dimension (`m-3`); ucum-lhc keeps the mole's exponent apart, and so does the
 * canonical code (`m-3.mol`), or a glucose search would find white cell counts.
 */
function moleExponent(utilities: UcumUtilities, unit: string): number {
  let specified: unknown;
  try {
    specified = utilities.getSpecifiedUnit(unit, 'validate');
  } catch {
    return 0;
  }
  if (!isRecord(specified) || !isRecord(specified.unit)) return 0;
  const exponent = specified.unit.moleExp_;
  return typeof exponent === 'number' && Number.isFinite(exponent) ? exponent : 0;
}

/** `{ g: 1, m: -3 }` → `g.m-3`; a dimensionless unit → `1`. Sorted, so one dimension has one code. */
function canonicalCode(unitToExp: Record<string, unknown>): string {
  const terms = Object.keys(unitToExp)
    .sort()
    .flatMap((base) => {
      const exponent = unitToExp[base];
      if (typeof exponent !== 'number' || exponent === 0) return [];
      return [exponent === 1 ? base : `${base}${exponent}`];
    });
  return terms.length > 0 ? terms.join('.') : '1';
}

function rounded(value: number): Decimal | undefined {
  return decimalFromNumber(Number(value.toPrecision(SIGNIFICANT_DIGITS)));
}

function formatForFloat(value: Decimal): string {
  return `${value.coefficient}e${value.exponent}`;
}

function ucumUtilities(): UcumUtilities | null {
  if (ucum !== undefined) return ucum;
  try {
    const require = createRequire(import.meta.url);
    const loaded: unknown = require('@lhncbc/ucum-lhc');
    ucum = isUcumPackage(loaded) ? loaded.UcumLhcUtils.getInstance() : null;
  } catch {
    // Without the library quantities still index by value, system and code; canonical stays null.
    ucum = null;
  }
  return ucum;
}

function isUcumPackage(value: unknown): value is UcumPackage {
  if (!isRecord(value)) return false;
  const utilities = value.UcumLhcUtils;
  return (
    typeof utilities === 'function' &&
    'getInstance' in utilities &&
    typeof utilities.getInstance === 'function'
  );
}
