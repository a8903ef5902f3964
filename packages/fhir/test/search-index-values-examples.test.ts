import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { indexResource } from '../src/search/index-resource.ts';
import { requireSharedData } from './support/shared-data.ts';

const examplesDir = requireSharedData('fhir-r4-examples/resources');

const INSTANT = /^(?:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z|-?infinity)$/;
const DECIMAL = /^(?:-?\d+(?:\.\d+)?|-?Infinity)$/;

describe.skipIf(examplesDir === null)(
  'date, number, quantity and uri values of the official R4 examples',
  () => {
    const dir = examplesDir ?? '';
    const files = examplesDir === null ? [] : readdirSync(dir).filter((file) => file.endsWith('.json'));

    it('all index without an error, into well-formed instants and decimals with low <= high', () => {
      expect(files.length).toBeGreaterThan(700);
      const failures: string[] = [];
      let entries = 0;
      for (const file of files) {
        try {
          const index = indexResource(JSON.parse(readFileSync(join(dir, file), 'utf8')));
          for (const { param, low, high } of index.dates ?? []) {
            entries++;
            const bounded = !low.endsWith('infinity') && !high.endsWith('infinity');
            if (!INSTANT.test(low) || !INSTANT.test(high) || (bounded && low > high)) {
              failures.push(`${file} ${param}: ${low} .. ${high}`);
            }
          }
          for (const { param, value, low, high } of [...(index.numbers ?? []), ...(index.quantities ?? [])]) {
            entries++;
            if (![value, low, high].every((text) => DECIMAL.test(text)))
              failures.push(`${file} ${param}: ${value}`);
          }
          entries += index.uris?.length ?? 0;
        } catch (error) {
          failures.push(`${file}: ${String(error)}`);
        }
      }
      expect(failures).toEqual([]);
      expect(entries).toBeGreaterThan(500);
    });
  },
);
