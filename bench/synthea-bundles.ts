/**
 * The Synthea patient Bundles the ingest scenario sends: the first `count` transaction Bundles of
 * `../shared/data/synthea/smart-r4-2019/` in file-name order (random UUIDs, so a fair mix of small
 * and large records: 61 to 1,111 entries, 306 on average over the whole set).
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

export const syntheaBundleCount = 40;

export async function syntheaBundleFiles(repoRoot: string, count = syntheaBundleCount): Promise<string[]> {
  const directory = join(repoRoot, '..', 'shared', 'data', 'synthea', 'smart-r4-2019');
  if (!existsSync(directory)) return [];
  const names = (await readdir(directory)).filter((name) => /\.json(\.gz)?$/.test(name)).sort();
  return names.slice(0, count).map((name) => join(directory, name));
}
