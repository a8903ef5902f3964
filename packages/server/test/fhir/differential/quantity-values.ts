/**
 * Quantity search values (http://hl7.org/fhir/R4/search.html#quantity) from a value that occurs:
 * at its precision or one digit more or less, as `number|system|code`, `number||code`,
 * `number||unit` or a bare number, and sometimes in another UCUM unit a power of ten away.
 */
import { escapeSearchValue } from '../../support/reference-search/escaping.ts';
import {
  type ExactDecimal,
  formatExactDecimal,
} from '../../support/reference-search/matchers/exact-decimal.ts';
import { PREFIXES } from '../../support/reference-search/matchers/prefix.ts';
import { quantityOf, UCUM } from '../../support/reference-search/matchers/quantity.ts';
import type { SeededRandom } from '../../support/reference-search/seeded-random.ts';
import type { SelectedValue } from '../../support/reference-search/select-values.ts';

/** UCUM units and a commensurable one a power of ten apart (kg = 10^3 g), to search across units. */
const UNIT_SHIFTS: Record<string, [string, number][]> = {
  kg: [['g', 3]],
  g: [
    ['mg', 3],
    ['kg', -3],
  ],
  cm: [
    ['m', -2],
    ['mm', 1],
  ],
  'mg/dL': [
    ['g/L', -2],
    ['mg/L', 1],
  ],
  'mmol/L': [
    ['umol/L', 3],
    ['mol/m3', 0],
  ],
  '/min': [['/s', 0]],
};

export function quantitySearch(random: SeededRandom, value: SelectedValue | undefined): { text: string } {
  const prefix = random.chance(0.3) ? '' : random.pickFrom(PREFIXES);
  const quantity = value === undefined ? undefined : quantityOf(value);
  if (quantity === undefined) {
    const unit = random.pickFrom(['mg', 'kg', 'mm[Hg]', '%', '{invented}']);
    return { text: `${prefix}${random.integer(0, 300)}|${UCUM}|${escapeSearchValue(unit)}` };
  }
  let number: ExactDecimal = rewritten(random, quantity.value);
  let code = quantity.code;
  const shifts = code === undefined ? undefined : UNIT_SHIFTS[code];
  if (quantity.system === UCUM && shifts !== undefined && random.chance(0.3)) {
    const [other, exponent] = random.pickFrom(shifts);
    // `/min` as `/s` is not a power of ten: written as the minute value over 60 is not exact, so skip.
    if (other !== '/s') {
      number = { ...number, exponent: number.exponent + exponent };
      code = other;
    }
  }
  const written = `${prefix}${formatExactDecimal(number)}`;
  const roll = random.next();
  if (roll < 0.55 && quantity.system !== undefined && code !== undefined) {
    return { text: `${written}|${escapeSearchValue(quantity.system)}|${escapeSearchValue(code)}` };
  }
  if (roll < 0.7 && code !== undefined) return { text: `${written}||${escapeSearchValue(code)}` };
  if (roll < 0.8 && quantity.unit !== undefined)
    return { text: `${written}||${escapeSearchValue(quantity.unit)}` };
  return { text: written };
}

/** The value at its own precision, one digit less, or one more (`72.5` → `72.5`, `72`, `72.50`). */
function rewritten(random: SeededRandom, value: ExactDecimal): ExactDecimal {
  const roll = random.next();
  if (roll < 0.5) return value;
  if (roll < 0.75) return { coefficient: value.coefficient * 10n, exponent: value.exponent - 1 };
  const coefficient = value.coefficient / 10n + (random.chance(0.5) ? 1n : 0n);
  return { coefficient, exponent: value.exponent + 1 };
}
