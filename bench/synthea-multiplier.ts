/**
 * `node --import tsx bench/synthea-multiplier.ts [--resources 1000000] [--out <dir>]`: writes a
 * benchmark dataset multiplied from the Synthea sample (synthea-dataset.ts) and prints where.
 * `npm run bench -- search` does this itself when its dataset is missing; run this to prepare one
 * ahead, or to look at the files.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultDatasetDir, syntheaSourceDir } from './load-data.ts';
import { multiplySynthea } from './synthea-dataset.ts';

const repoRoot = resolve(import.meta.dirname, '..');

const usage = `Usage: node --import tsx bench/synthea-multiplier.ts [options]

Multiplies the Synthea R4 Bundles of ${syntheaSourceDir(repoRoot)} into gzipped NDJSON
(new deterministic ids, consistent references, shifted names, identifiers and dates).

Options:
  --resources <n>   resources to write in all (default 1000000)
  --out <dir>       output directory (default bench/data/synthea-<n>, ignored by git)
  --source <dir>    directory of Synthea *.json.gz Bundles
  -h, --help        show this help`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      resources: { type: 'string', default: '1000000' },
      out: { type: 'string' },
      source: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const resources = Number(values.resources);
  if (!Number.isInteger(resources) || resources < 1) {
    console.error(`--resources must be a positive integer, got "${values.resources}"\n\n${usage}`);
    return 2;
  }
  const outputDir = resolve(values.out ?? defaultDatasetDir(repoRoot, resources));
  const result = await multiplySynthea({
    sourceDir: resolve(values.source ?? syntheaSourceDir(repoRoot)),
    outputDir,
    resources,
    onProgress: ({ copy, written, target, seconds }) =>
      process.stderr.write(
        `\r  copy ${copy}: ${written.toLocaleString('en')}/${target.toLocaleString('en')} resources, ${(written / seconds).toFixed(0)}/s   `,
      ),
  });
  process.stderr.write('\n');
  console.log(
    `Wrote ${result.samples.resources} resources (${result.samples.copies} copies) in ${result.seconds.toFixed(1)} s ` +
      `(${(result.samples.resources / result.seconds).toFixed(0)}/s) to ${outputDir}; ` +
      `${result.danglingReferences} references without a target.`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
