/** The issues of one profile validation, deduplicated (a base profile and a profile on it repeat the same invariants). */
import type { IssueCode, IssueSeverity, OutcomeIssue } from '../../outcome.ts';

export class ValidationIssues {
  private readonly seen = new Set<string>();
  readonly list: OutcomeIssue[] = [];

  add(severity: IssueSeverity, code: IssueCode, expression: string, diagnostics: string): void {
    const key = `${severity}|${code}|${expression}|${diagnostics}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push({ severity, code, diagnostics, expression: [expression] });
  }

  error(code: IssueCode, expression: string, diagnostics: string): void {
    this.add('error', code, expression, diagnostics);
  }

  get errorCount(): number {
    return this.list.filter((issue) => issue.severity === 'error' || issue.severity === 'fatal').length;
  }
}
