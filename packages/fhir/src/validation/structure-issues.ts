/** Issues found by structural validation: always errors, located by a FHIRPath expression. */
import type { IssueCode, OutcomeIssue } from '../outcome.ts';

export type StructureIssueCode = Extract<IssueCode, 'structure' | 'required' | 'value' | 'invalid'>;

/** Collects issues during one validation walk. */
export class IssueList {
  readonly issues: OutcomeIssue[] = [];

  add(code: StructureIssueCode, expression: string | undefined, diagnostics: string): void {
    this.issues.push({
      severity: 'error',
      code,
      diagnostics,
      ...(expression === undefined ? {} : { expression: [expression] }),
    });
  }
}

/** A short, safe rendering of a JSON value for diagnostics. */
export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `a ${typeof value}`;
}
