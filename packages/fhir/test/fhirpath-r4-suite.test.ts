/**
 * The official FHIRPath test suite for R4 (FHIR/fhir-test-cases r4/fhirpath/tests-fhir-r4.xml,
 * converted to JSON in ../shared/data) run through the engine and model the validator's invariants
 * use (fhirpath.js with the R4 model, invariants.ts). Inputs are the suite's JSON renditions of its
 * resources. The pass rate is printed and must not fall below the floor (docs/validation.md).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fhirpath from 'fhirpath';
import { describe, expect, it } from 'vitest';
import { r4Model } from '../src/search/fhir-model.ts';
import { requireSharedData } from './support/shared-data.ts';

/** Cases that pass, of 935, when this floor was set. */
const PASSING_FLOOR = 842;

const suiteDir = requireSharedData('fhir-test-cases/fhirpath');

interface SuiteTest {
  name: string;
  inputfile?: string;
  expression: string;
  invalid?: string;
  predicate?: string;
  outputs: { type: string | null; value?: string }[];
}

/** The suite writes dates as `@2012-04-15`, times as `@T14:34`, Quantities as `5.4 'mg'`. */
function expectedText(value: string | undefined): string {
  return (value ?? '').replace(/^@T?/, '');
}

function actualText(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'unit' in value && 'value' in value) {
    return `${String((value as { value: unknown }).value)} '${String((value as { unit: unknown }).unit)}'`;
  }
  return String(value).replace(/^T/, '');
}

function passes(test: SuiteTest, input: unknown): boolean {
  let result: unknown[];
  try {
    result = fhirpath.evaluate(input as object, test.expression, {}, r4Model) as unknown[];
  } catch {
    return test.invalid !== undefined;
  }
  if (test.invalid !== undefined) return false;
  if (test.predicate === 'true') return result.length > 0 && result[0] === true;
  const expected = test.outputs.filter((o) => o.type !== null);
  if (expected.length !== result.length) return false;
  return expected.every((output, i) => actualText(result[i]) === expectedText(output.value));
}

describe.skipIf(suiteDir === null)('FHIRPath R4 test suite (fhir-test-cases)', () => {
  it('passes the suite above the floor', () => {
    const dir = suiteDir ?? '';
    const suite = JSON.parse(readFileSync(join(dir, 'r4', 'tests-fhir-r4.converted.json'), 'utf8')) as {
      groups: { name: string; tests: SuiteTest[] }[];
    };
    const inputs = new Map<string, unknown>();
    const inputFor = (file: string | undefined): unknown => {
      if (file === undefined) return {};
      const json = join(dir, 'fhirpath.js-yaml', 'resources', 'r4', file.replace(/\.xml$/, '.json'));
      if (!inputs.has(file))
        inputs.set(file, existsSync(json) ? JSON.parse(readFileSync(json, 'utf8')) : undefined);
      return inputs.get(file);
    };
    let passed = 0;
    let total = 0;
    const failed: string[] = [];
    for (const group of suite.groups) {
      for (const test of group.tests) {
        total++;
        const input = inputFor(test.inputfile);
        if (input !== undefined && passes(test, input)) passed++;
        else failed.push(`${group.name}/${test.name}: ${test.expression.replace(/\s+/g, ' ').slice(0, 80)}`);
      }
    }
    console.log(
      `${failed.join('\n')}\nFHIRPath R4 suite: ${passed}/${total} pass (${((passed / total) * 100).toFixed(1)}%)`,
    );
    expect(passed).toBeGreaterThanOrEqual(PASSING_FLOOR);
  }, 120_000);
});
