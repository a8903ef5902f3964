/**
 * What the readers hand to the importer: one parsed JSON value, or the reason a piece of a file
 * could not be read, always with where it came from so that a failure can be found and fixed.
 */

export interface ItemLocation {
  file: string;
  /** 1-based line of an NDJSON file. */
  line?: number;
  /** 0-based index of an entry in a non-transaction Bundle. */
  entry?: number;
}

export type ImportItem =
  | { kind: 'value'; location: ItemLocation; value: unknown }
  | { kind: 'unreadable'; location: ItemLocation; reason: string };

export function describeLocation(location: ItemLocation): string {
  const parts = [location.file];
  if (location.line !== undefined) parts.push(`line ${location.line}`);
  if (location.entry !== undefined) parts.push(`entry ${location.entry}`);
  return parts.join(', ');
}
