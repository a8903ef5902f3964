/**
 * Primitive types' JSON form (json.html#primitive: numbers and booleans as JSON numbers and
 * booleans, everything else as strings) and their lexical rule, from the `value` regex of each
 * primitive StructureDefinition.
 */
import type { PrimitiveRule } from './element-schema.ts';
import type { RawStructureDefinition } from './structure-definition-reader.ts';
import { xsdPatternToRegExp } from './xsd-pattern.ts';

const NUMBER_TYPES: ReadonlySet<string> = new Set(['integer', 'decimal', 'positiveInt', 'unsignedInt']);

/**
 * The spec's base64Binary regex `(\s*([0-9a-zA-Z\+/=]){4}\s*)+` backtracks exponentially on a
 * long, line-wrapped, invalid value (each space can end one group or start the next), and
 * attachments run to megabytes. This is the same language checked in one pass.
 */
function isBase64Binary(lexical: string): boolean {
  let count = 0;
  for (let i = 0; i < lexical.length; i++) {
    const code = lexical.charCodeAt(i);
    if (code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d) continue;
    const isBase64Char =
      (code >= 0x30 && code <= 0x39) ||
      (code >= 0x41 && code <= 0x5a) ||
      (code >= 0x61 && code <= 0x7a) ||
      code === 0x2b ||
      code === 0x2f ||
      code === 0x3d;
    if (!isBase64Char) return false;
    count++;
  }
  return count > 0 && count % 4 === 0;
}

export function primitiveRule(definition: RawStructureDefinition): PrimitiveRule {
  const type = definition.name;
  const json = type === 'boolean' ? 'boolean' : NUMBER_TYPES.has(type) ? 'number' : 'string';
  const pattern = definition.valuePattern;
  if (type === 'base64Binary')
    return { type, json, ...(pattern ? { pattern } : {}), matches: isBase64Binary };
  if (pattern === undefined) return { type, json, matches: () => true };
  const regExp = xsdPatternToRegExp(pattern);
  return { type, json, pattern, matches: (lexical) => regExp.test(lexical) };
}
