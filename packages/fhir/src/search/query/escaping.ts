/**
 * Search value escaping (http://hl7.org/fhir/R4/search.html#escaping): `\,` `\|` `\$` `\\` are
 * literal; an unescaped `,` separates alternatives and `|` / `$` separate the parts of a value.
 */

/** Splits on unescaped `separator`, keeping escapes in the parts (they may be split again). */
export function splitUnescaped(value: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && i + 1 < value.length) {
      current += ch + value[i + 1];
      i++;
    } else if (ch === separator) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

export function unescapeSearchValue(value: string): string {
  return value.replace(/\\([\\,$|])/g, '$1');
}
