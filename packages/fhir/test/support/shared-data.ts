/**
 * `../shared/data` beside the repo holds real material (spec examples, official definitions)
 * that CI always has and a fresh clone may not (DESIGN.md §6). Tests that need it skip when it
 * is absent, unless CONCORDIA_REQUIRE_ALL=1 says that skipping would hide a failure.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const sharedDataDir = fileURLToPath(new URL('../../../../../shared/data/', import.meta.url));

/** The path of `subpath` under the shared data, or null when it is absent (and allowed to be). */
export function requireSharedData(subpath: string): string | null {
  const path = join(sharedDataDir, subpath);
  if (existsSync(path)) return path;
  if (process.env.CONCORDIA_REQUIRE_ALL === '1') {
    throw new Error(`CONCORDIA_REQUIRE_ALL=1 but the shared test data ${path} is missing`);
  }
  return null;
}
