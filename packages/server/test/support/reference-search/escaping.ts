/**
 * http://hl7.org/fhir/R4/search.html#escaping: `\,` `\|` `\$` `\\` are literal characters; an
 * unescaped `,` separates alternatives and `|` the parts of a token or quantity.
 */

/** Splits `value` on unescaped `separator`; escapes stay in the parts. */
export function splitUnescaped(value: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const character = value.charAt(i);
    if (character === '\\' && i + 1 < value.length) {
      current += value.slice(i, i + 2);
      i++;
    } else if (character === separator) {
      parts.push(current);
      current = '';
    } else {
      current += character;
    }
  }
  parts.push(current);
  return parts;
}

export function unescapeSearchValue(value: string): string {
  return value.replace(/\\([\\,|$])/g, '$1');
}

/** The inverse of `unescapeSearchValue`, for generating values that hold the special characters. */
export function escapeSearchValue(value: string): string {
  return value.replace(/[\\,|$]/g, (character) => `\\${character}`);
}
