/**
 * The regexes in the R4 StructureDefinitions are XML Schema regexes (implicitly anchored, `\s`
 * meaning only space, tab, CR and LF: https://www.w3.org/TR/xmlschema-2/#regexs). JavaScript's
 * `\s` also matches NBSP and other Unicode spaces, which would reject, for example, a `string`
 * containing U+00A0. This turns a spec regex into an equivalent JavaScript RegExp.
 */

const XSD_SPACE_CHARS = ' \\t\\n\\r';
const XSD_SPACE = `[${XSD_SPACE_CHARS}]`;
const XSD_NON_SPACE = `[^${XSD_SPACE_CHARS}]`;

/** Tokens of a character class body: single characters or two-character escapes. */
function classTokens(body: string): string[] {
  const tokens: string[] = [];
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '\\' && i + 1 < body.length) {
      tokens.push(body.slice(i, i + 2));
      i++;
    } else {
      tokens.push(body.charAt(i));
    }
  }
  return tokens;
}

function translateClass(body: string): string {
  const tokens = classTokens(body);
  if (!tokens.includes('\\S')) return `[${tokens.map((t) => (t === '\\s' ? XSD_SPACE_CHARS : t)).join('')}]`;
  // `[ \r\n\t\S]` (string, markdown) is "any character"; other mixes of \S do not occur in R4.
  const coversSpace = [' ', '\\t', '\\n', '\\r'].every((t) => tokens.includes(t)) || tokens.includes('\\s');
  if (tokens[0] === '^' || !coversSpace) throw new Error(`Unsupported XML Schema character class [${body}]`);
  return '[\\s\\S]';
}

export function xsdPatternToRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern.charAt(i);
    if (char === '\\') {
      const escaped = pattern.slice(i, i + 2);
      out += escaped === '\\s' ? XSD_SPACE : escaped === '\\S' ? XSD_NON_SPACE : escaped;
      i++;
    } else if (char === '[') {
      const end = findClassEnd(pattern, i);
      out += translateClass(pattern.slice(i + 1, end));
      i = end;
    } else {
      out += char;
    }
  }
  return new RegExp(`^(?:${out})$`);
}

function findClassEnd(pattern: string, start: number): number {
  for (let i = start + 1; i < pattern.length; i++) {
    if (pattern[i] === '\\') i++;
    else if (pattern[i] === ']') return i;
  }
  throw new Error(`Unterminated character class in ${pattern}`);
}
