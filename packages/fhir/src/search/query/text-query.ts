/**
 * The query syntax of `_text` and `_content` (http://hl7.org/fhir/R4/search.html#text). R4 leaves
 * it to the server, with `(bone OR liver) and metastases` as its example; this one reads:
 *
 * - words separated by spaces must all occur (AND), in any order;
 * - `OR` and `AND` (any case) combine, AND binding tighter, parentheses group;
 * - `"two words"` must occur next to each other, in that order;
 * - `metast*` matches any word starting with `metast`.
 *
 * Exclusion (`NOT`, `-word`) is refused rather than silently searched as a word. Commas still
 * separate alternatives of the parameter (search.html#combining), so `a,b` is `a OR b`.
 */
import { unescapeSearchValue } from './escaping.ts';
import { splitAlternatives } from './filter-values.ts';
import { malformed, unsupported } from './parameter-issue.ts';
import type { SearchFilter, TextQuery } from './search-query.ts';

/** Each word is a tsquery term in SQL; a bound keeps one value's statement small. */
const MAX_TERMS = 32;

type Token =
  | { kind: 'open' | 'close' | 'and' | 'or' }
  | { kind: 'phrase'; text: string }
  | { kind: 'word'; text: string };

export function parseTextQuery(parameter: string, value: string): TextQuery {
  const tokens = tokenize(parameter, value);
  if (tokens.filter((token) => token.kind === 'word' || token.kind === 'phrase').length > MAX_TERMS) {
    throw unsupported(parameter, `'${parameter}' has more than ${MAX_TERMS} words in one value`);
  }
  const parser = new TextQueryParser(parameter, value, tokens);
  return parser.parse();
}

class TextQueryParser {
  private position = 0;

  constructor(
    private readonly parameter: string,
    private readonly value: string,
    private readonly tokens: readonly Token[],
  ) {}

  parse(): TextQuery {
    const query = this.disjunction();
    if (this.position < this.tokens.length) throw this.error('an unmatched ")"');
    return query;
  }

  private disjunction(): TextQuery {
    const operands = [this.conjunction()];
    while (this.peek()?.kind === 'or') {
      this.position++;
      operands.push(this.conjunction());
    }
    return combined('or', operands);
  }

  private conjunction(): TextQuery {
    const operands = [this.operand()];
    for (let next = this.peek(); next !== undefined && next.kind !== 'or' && next.kind !== 'close'; ) {
      if (next.kind === 'and') this.position++;
      operands.push(this.operand());
      next = this.peek();
    }
    return combined('and', operands);
  }

  private operand(): TextQuery {
    const token = this.tokens[this.position];
    this.position++;
    if (token === undefined) throw this.error('a missing word at the end');
    switch (token.kind) {
      case 'open': {
        const inner = this.disjunction();
        if (this.peek()?.kind !== 'close') throw this.error('an unclosed "("');
        this.position++;
        return inner;
      }
      case 'phrase':
        return { kind: 'phrase', text: token.text };
      case 'word': {
        const prefix = token.text.endsWith('*');
        return { kind: 'word', text: prefix ? token.text.slice(0, -1) : token.text, prefix };
      }
      default:
        throw this.error(`a misplaced ${token.kind === 'close' ? '")"' : token.kind.toUpperCase()}`);
    }
  }

  private peek(): Token | undefined {
    return this.tokens[this.position];
  }

  private error(problem: string) {
    return malformed(this.parameter, `'${this.value}' of '${this.parameter}' has ${problem}`);
  }
}

function combined(kind: 'and' | 'or', operands: TextQuery[]): TextQuery {
  const [only] = operands;
  return operands.length === 1 && only !== undefined ? only : { kind, operands };
}

const SEARCHABLE = /[\p{L}\p{N}]/u;

function tokenize(parameter: string, value: string): Token[] {
  const tokens: Token[] = [];
  // Every non-space character starts one of the alternatives, so only trailing spaces stay unread.
  const pattern = /\s*(?:(\()|(\))|"([^"]*)("?)|([^\s()"]+))/gy;
  for (let match = pattern.exec(value); match !== null; match = pattern.exec(value)) {
    const [, open, close, phrase, closingQuote, word] = match;
    if (open !== undefined) tokens.push({ kind: 'open' });
    else if (close !== undefined) tokens.push({ kind: 'close' });
    else if (phrase !== undefined) {
      if (closingQuote !== '"')
        throw malformed(parameter, `'${value}' of '${parameter}' has an unclosed '"'`);
      tokens.push({ kind: 'phrase', text: searchable(parameter, phrase) });
    } else if (word !== undefined) tokens.push(wordToken(parameter, word));
  }
  if (tokens.length === 0) {
    throw malformed(parameter, `Search parameter '${parameter}' has no words to search for in '${value}'`);
  }
  return tokens;
}

function wordToken(parameter: string, word: string): Token {
  const keyword = word.toUpperCase();
  if (keyword === 'AND') return { kind: 'and' };
  if (keyword === 'OR') return { kind: 'or' };
  if (keyword === 'NOT' || /^-[\p{L}\p{N}]/u.test(word)) {
    throw unsupported(
      parameter,
      `'${parameter}' cannot exclude words (NOT, -word); search for what must occur`,
    );
  }
  return { kind: 'word', text: searchable(parameter, word) };
}

function searchable(parameter: string, text: string): string {
  if (!SEARCHABLE.test(text)) {
    throw malformed(parameter, `'${text}' in '${parameter}' has no letters or digits to search for`);
  }
  return text;
}

/** `_text=…` or `_content=…`: comma-separated alternatives, each a query; no modifiers. */
export function textFilter(
  parameter: string,
  code: '_text' | '_content',
  modifier: string | undefined,
  value: string,
): SearchFilter {
  if (modifier !== undefined) {
    throw unsupported(parameter, `Modifier ':${modifier}' is not supported on '${code}'`);
  }
  const values = splitAlternatives(parameter, value).map((alternative) =>
    parseTextQuery(parameter, unescapeSearchValue(alternative)),
  );
  return { kind: 'text', parameter, code, field: code === '_text' ? 'narrative' : 'content', values };
}
