/**
 * Result columns arrive as `unknown`; these readers turn them into types once, at the edge, and
 * fail loudly if the schema and the code disagree.
 */
import type { Row } from './database.ts';

function columnError(row: Row, column: string, expected: string): Error {
  return new TypeError(`Column ${column}: expected ${expected}, got ${typeof row[column]}`);
}

export function readString(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw columnError(row, column, 'string');
  return value;
}

export function readOptionalString(row: Row, column: string): string | undefined {
  const value = row[column];
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'string') throw columnError(row, column, 'string or null');
  return value;
}

export function readNumber(row: Row, column: string): number {
  const value = row[column];
  if (typeof value !== 'number') throw columnError(row, column, 'number');
  return value;
}

export function readOptionalNumber(row: Row, column: string): number | undefined {
  const value = row[column];
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'number') throw columnError(row, column, 'number or null');
  return value;
}

export function readBoolean(row: Row, column: string): boolean {
  const value = row[column];
  if (typeof value !== 'boolean') throw columnError(row, column, 'boolean');
  return value;
}
