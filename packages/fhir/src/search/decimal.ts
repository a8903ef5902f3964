/**
 * Exact decimal arithmetic on the text of a number, for the number and quantity index
 * (http://hl7.org/fhir/R4/search.html#number). Binary floats cannot carry a decimal's precision
 * (`5400 × 0.000001` is `0.005399999999999999`), and the index must store what was written.
 */

/** `coefficient × 10^exponent`; the coefficient's digits are the significant ones as written. */
export interface Decimal {
  coefficient: bigint;
  exponent: number;
}

const DECIMAL_TEXT = /^([+-]?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** Exponents beyond this are not numbers a resource holds; refusing them bounds the work. */
const MAX_EXPONENT = 1000;

/** `100.00` → 10000 × 10^-2 (trailing zeros are significant); undefined when not a decimal. */
export function parseDecimal(text: string): Decimal | undefined {
  const match = DECIMAL_TEXT.exec(text);
  if (!match) return undefined;
  const [, sign = '', integer = '', fraction = '', exponent = '0'] = match;
  const scale = Number(exponent) - fraction.length;
  if (!Number.isSafeInteger(scale) || Math.abs(scale) > MAX_EXPONENT) return undefined;
  return { coefficient: BigInt(`${sign}${integer}${fraction}`), exponent: scale };
}

/**
 * A JSON number as a decimal. JSON.parse has already dropped trailing zeros (`100.00` arrives as
 * 100), so the shortest text that round-trips is the most precision we can know.
 */
export function decimalFromNumber(value: number): Decimal | undefined {
  return Number.isFinite(value) ? parseDecimal(String(value)) : undefined;
}

/**
 * The range a decimal stands for: ± half a unit of its last significant digit
 * (search.html#number: `100` means [99.5, 100.5), `1e2` means [50, 150)).
 */
export function implicitRange(value: Decimal): { low: Decimal; high: Decimal } {
  const exponent = value.exponent - 1;
  const tenfold = value.coefficient * 10n;
  return {
    low: { coefficient: tenfold - 5n, exponent },
    high: { coefficient: tenfold + 5n, exponent },
  };
}

export function multiply(a: Decimal, b: Decimal): Decimal {
  return { coefficient: a.coefficient * b.coefficient, exponent: a.exponent + b.exponent };
}

/** Plain positional text without an exponent (PostgreSQL `numeric` input); no trailing zeros. */
export function formatDecimal(value: Decimal): string {
  const { coefficient, exponent } = value;
  if (coefficient === 0n) return '0';
  if (exponent >= 0) return `${coefficient}${'0'.repeat(exponent)}`;
  const negative = coefficient < 0n;
  const digits = (negative ? -coefficient : coefficient).toString().padStart(1 - exponent, '0');
  const point = digits.length + exponent;
  const fraction = digits.slice(point).replace(/0+$/, '');
  const text = fraction.length > 0 ? `${digits.slice(0, point)}.${fraction}` : digits.slice(0, point);
  return negative ? `-${text}` : text;
}

/** Negative, zero or positive as `a` is below, equal to or above `b`, exactly. */
export function compareDecimals(a: Decimal, b: Decimal): number {
  const exponent = Math.min(a.exponent, b.exponent);
  const left = a.coefficient * 10n ** BigInt(a.exponent - exponent);
  const right = b.coefficient * 10n ** BigInt(b.exponent - exponent);
  return left < right ? -1 : left > right ? 1 : 0;
}
