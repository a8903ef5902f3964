import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateResourceStructure } from '../src/validation/structure.ts';
import { requireSharedData } from './support/shared-data.ts';

const examplesDir = requireSharedData('fhir-r4-examples/resources');

/**
 * Official examples that break a rule of the R4 definitions they ship with; every other example
 * must validate without an error.
 */
const KNOWN_INVALID_EXAMPLES: Record<string, { reason: string; expressions: string[] }> = {
  'Questionnaire-qs1.json': {
    reason:
      'Questionnaire.item.linkId is 1..1 (questionnaire.html), but nested items of this example have none',
    expressions: [
      'Questionnaire.item[0].item[0].linkId',
      'Questionnaire.item[0].item[1].item[0].linkId',
      'Questionnaire.item[0].item[2].item[0].linkId',
    ],
  },
};

function exampleFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort();
}

describe.skipIf(examplesDir === null)('the official R4 examples (hl7.fhir.r4.examples 4.0.1)', () => {
  const dir = examplesDir ?? '';
  const files = examplesDir === null ? [] : exampleFiles(dir);

  it('are all there (714 resources of 127 types)', () => {
    expect(files).toHaveLength(714);
  });

  it.each(files.filter((file) => !(file in KNOWN_INVALID_EXAMPLES)))('%s is structurally valid', (file) => {
    const resource: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    expect(validateResourceStructure(resource)).toEqual([]);
  });

  const knownInvalid = Object.entries(KNOWN_INVALID_EXAMPLES).map(
    ([file, { reason, expressions }]) => [file, reason, expressions] as const,
  );

  it.each(knownInvalid)('%s is invalid: %s', (file, _reason, expressions) => {
    const resource: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const issues = validateResourceStructure(resource);
    expect(issues.flatMap((issue) => issue.expression ?? []).slice(0, expressions.length)).toEqual(
      expressions,
    );
    for (const issue of issues) {
      expect(issue.code).toBe('required');
      expect(issue.expression?.[0]).toMatch(/^Questionnaire(\.item\[\d+\])+\.linkId$/);
    }
  });
});
