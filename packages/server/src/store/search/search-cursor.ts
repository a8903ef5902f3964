/**
 * The opaque paging cursor of search (search.html#paging): the sort key values and identity of the
 * row a page ends (or starts) at, and which way to read from it. Keyset paging from it never skips
 * or repeats a row that existed before the first page, whatever is written in between.
 */
import { fhirError } from '@concordia/fhir';

export interface SearchCursor {
  /** `after`: the rows following the anchor (a next link); `before`: preceding it (previous). */
  direction: 'after' | 'before';
  /** Sort key values of the anchor row, in `_sort` order; `null` when it had none. */
  keys: (string | null)[];
  resourceType: string;
  id: string;
}

export function encodeSearchCursor(cursor: SearchCursor): string {
  const payload = [cursor.direction === 'after' ? 'a' : 'b', cursor.keys, cursor.resourceType, cursor.id];
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

export function decodeSearchCursor(text: string, keyCount: number): SearchCursor {
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(payload) || payload.length !== 4) throw invalidCursor();
  const [direction, keys, resourceType, id] = payload;
  if (
    (direction !== 'a' && direction !== 'b') ||
    typeof resourceType !== 'string' ||
    typeof id !== 'string' ||
    !Array.isArray(keys) ||
    keys.length !== keyCount
  ) {
    throw invalidCursor();
  }
  const values: (string | null)[] = [];
  for (const key of keys) {
    if (key !== null && typeof key !== 'string') throw invalidCursor();
    values.push(key);
  }
  return { direction: direction === 'a' ? 'after' : 'before', keys: values, resourceType, id };
}

function invalidCursor() {
  return fhirError(
    'invalid',
    'invalid',
    'The search paging cursor is not valid for this search; start again from the first page',
    ['_cursor'],
  );
}
