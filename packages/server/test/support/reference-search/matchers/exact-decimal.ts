/**
 * Decimals compared exactly, as `coefficient × 10^exponent` with a BigInt coefficient: binary
 * floats put 0.2 + 0.05 above 0.25, which would move a number search's boundaries.
 */
export interface ExactDecimal {
  coefficient: bigint;
  exponent: number;
}

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

export function parseExactDecimal(text: string): ExactDecimal | undefined {
  const match = DECIMAL.exec(text);
  if (match === null) return undefined;
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match;
  return { coefficient: BigInt(`${sign}${whole}${fraction}`), exponent: Number(exponent) - fraction.length };
}

/** A JSON number, by the shortest text that reads back as it. */
export function decimalOfNumber(value: number): ExactDecimal | undefined {
  return Number.isFinite(value) ? parseExactDecimal(String(value)) : undefined;
}

/** -1, 0 or 1 as `a` is below, equal to or above `b`. */
export function compareDecimals(a: ExactDecimal, b: ExactDecimal): number {
  const exponent = Math.min(a.exponent, b.exponent);
  const left = a.coefficient * 10n ** BigInt(a.exponent - exponent);
  const right = b.coefficient * 10n ** BigInt(b.exponent - exponent);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** `value` ± `tenths`/10 of |value| (the bounds of `ap`), or ± half its last digit (`eq`). */
export function around(value: ExactDecimal, by: 'half-digit' | 'ten-percent'): [ExactDecimal, ExactDecimal] {
  if (by === 'half-digit') {
    const tenfold = value.coefficient * 10n;
    const exponent = value.exponent - 1;
    return [
      { coefficient: tenfold - 5n, exponent },
      { coefficient: tenfold + 5n, exponent },
    ];
  }
  const magnitude = value.coefficient < 0n ? -value.coefficient : value.coefficient;
  const exponent = value.exponent - 1;
  const tenfold = value.coefficient * 10n;
  return [
    { coefficient: tenfold - magnitude, exponent },
    { coefficient: tenfold + magnitude, exponent },
  ];
}

/** Plain positional text (`0.0054`, `72500`), as a search value is written. */
export function formatExactDecimal(value: ExactDecimal): string {
  const negative = value.coefficient < 0n;
  const digits = (negative ? -value.coefficient : value.coefficient).toString();
  let text: string;
  if (value.exponent >= 0) {
    text = digits === '0' ? '0' : `${digits}${'0'.repeat(value.exponent)}`;
  } else {
    const padded = digits.padStart(1 - value.exponent, '0');
    const point = padded.length + value.exponent;
    text = `${padded.slice(0, point)}.${padded.slice(point)}`;
  }
  return negative ? `-${text}` : text;
}
