import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeSchema } from '../src/definitions/r4-definitions.ts';
import type { IssueCode } from '../src/outcome.ts';
import { validateResourceStructure } from '../src/validation/structure.ts';

const STRUCTURE_CODES: readonly IssueCode[] = ['structure', 'required', 'value', 'invalid'];

/** Resources built from real element names, so the walk goes deep instead of stopping at the root. */
function resourceLike(resourceType: string): fc.Arbitrary<Record<string, unknown>> {
  const names = [...(nodeSchema(resourceType)?.properties.keys() ?? [])];
  const keys = fc.oneof(
    fc.constantFrom(...names),
    fc.constantFrom(...names).map((name) => `_${name}`),
    fc.string(),
  );
  return fc
    .dictionary(keys, fc.jsonValue({ maxDepth: 4 }), { maxKeys: 8 })
    .map((elements) => ({ ...elements, resourceType }));
}

const anyResourceLike = fc.oneof(
  ...['Patient', 'Observation', 'Bundle', 'Questionnaire', 'Parameters', 'Extension'].map(resourceLike),
);

function expectIssuesNotThrow(value: unknown): void {
  const issues = validateResourceStructure(value);
  for (const issue of issues) {
    expect(issue.severity).toBe('error');
    expect(STRUCTURE_CODES).toContain(issue.code);
  }
}

describe('structural validation on arbitrary input (property-based)', () => {
  it('never throws on arbitrary JSON: it returns issues', () => {
    fc.assert(fc.property(fc.jsonValue(), expectIssuesNotThrow), { numRuns: 500 });
  });

  it('never throws on arbitrary JavaScript values', () => {
    fc.assert(fc.property(fc.anything(), expectIssuesNotThrow), { numRuns: 500 });
  });

  it('never throws on resource-shaped JSON with real and unknown element names', () => {
    fc.assert(fc.property(anyResourceLike, expectIssuesNotThrow), { numRuns: 1000 });
  });

  it('reports nesting beyond the depth limit instead of overflowing the stack', () => {
    let item: Record<string, unknown> = { linkId: 'leaf', type: 'display' };
    for (let depth = 0; depth < 10_000; depth++) item = { linkId: `${depth}`, type: 'group', item: [item] };
    const issues = validateResourceStructure({
      resourceType: 'Questionnaire',
      status: 'draft',
      item: [item],
    });
    expect(issues).toHaveLength(1);
    expect(issues[0]?.diagnostics).toContain('nested');
  });
});
