/**
 * The text `_text` and `_content` search (http://hl7.org/fhir/R4/search.html#text, #content):
 * the narrative as readable text (markup removed, entities decoded) and every string and number
 * of the resource, each folded with normalizeString so that the store's language-neutral text
 * search matches regardless of case and accents.
 */
import { type FhirResource, isRecord } from '../resource.ts';
import type { TextIndexEntry } from './index-types.ts';
import { normalizeString } from './normalize-string.ts';

/**
 * Longer text is cut (at a word boundary): a PostgreSQL tsvector must stay under 1 MB, and words
 * past the first 100,000 characters of one resource are rarely what a search is for.
 */
export const MAX_INDEXED_TEXT = 100_000;

/**
 * Elements whose strings are not text a person would search for: base64 payloads
 * (`Attachment.data`, `Binary.data`, `Signature.data`, `SampledData.data`), the raw XHTML (its text
 * is added instead), ids (the resource's is searched with `_id`, an element's is internal), and
 * the version stamps the store writes on every change.
 */
const SKIPPED_KEYS: ReadonlySet<string> = new Set([
  'data',
  'div',
  'id',
  'resourceType',
  'versionId',
  'lastUpdated',
]);

export function textEntry(resource: FhirResource): TextIndexEntry | undefined {
  const narrative = narrativeText(resource.text);
  const parts: string[] = narrative === undefined ? [] : [narrative];
  collectText(resource, parts, { length: narrative?.length ?? 0 });
  const content = limited(normalizeString(parts.join(' ')));
  const folded = narrative === undefined ? '' : limited(normalizeString(narrative));
  if (content.length === 0) return undefined;
  return { ...(folded.length > 0 ? { narrative: folded } : {}), content };
}

function collectText(value: unknown, parts: string[], size: { length: number }): void {
  if (size.length > MAX_INDEXED_TEXT) return;
  if (typeof value === 'string' || typeof value === 'number') {
    const text = String(value);
    parts.push(text);
    size.length += text.length + 1;
  } else if (Array.isArray(value)) {
    for (const item of value) collectText(item, parts, size);
  } else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (!SKIPPED_KEYS.has(key)) collectText(item, parts, size);
    }
  }
}

/** `Narrative.div` as text; undefined when there is none. */
function narrativeText(text: unknown): string | undefined {
  if (!isRecord(text) || typeof text.div !== 'string') return undefined;
  const plain = xhtmlText(text.div).trim();
  return plain.length > 0 ? plain : undefined;
}

/**
 * Elements that run inside a word (`<b>Hi</b>gh` reads "High"); every other tag separates words
 * (`<td>a</td><td>b</td>` reads "a b").
 */
const INLINE_ELEMENTS: ReadonlySet<string> = new Set([
  'a',
  'abbr',
  'b',
  'big',
  'cite',
  'code',
  'em',
  'i',
  'small',
  'span',
  'strong',
  'sub',
  'sup',
  'tt',
  'u',
  'var',
]);

const NAMED_ENTITIES: ReadonlyMap<string, string> = new Map([
  ['amp', '&'],
  ['lt', '<'],
  ['gt', '>'],
  ['quot', '"'],
  ['apos', "'"],
  ['nbsp', ' '],
]);

/** The readable text of the narrative's XHTML (narrative.html#xhtml: no scripts, no processing). */
export function xhtmlText(xhtml: string): string {
  return xhtml
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1')
    .replace(/<\/?([A-Za-z][\w:-]*)[^>]*>/g, (_tag, name: string) =>
      INLINE_ELEMENTS.has(name.toLowerCase()) ? '' : ' ',
    )
    .replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);/g, (_entity, body: string) => entityText(body));
}

function entityText(body: string): string {
  if (body.startsWith('#')) {
    const code =
      body[1] === 'x' || body[1] === 'X' ? Number.parseInt(body.slice(2), 16) : Number(body.slice(1));
    return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
  }
  return NAMED_ENTITIES.get(body) ?? ' ';
}

/** Cut to MAX_INDEXED_TEXT characters, at the last space before the limit. */
function limited(text: string): string {
  if (text.length <= MAX_INDEXED_TEXT) return text;
  const cut = text.lastIndexOf(' ', MAX_INDEXED_TEXT);
  return text.slice(0, cut > 0 ? cut : MAX_INDEXED_TEXT);
}
