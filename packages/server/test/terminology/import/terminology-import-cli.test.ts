/**
 * `concordia terminology import` through the installed launcher, as an operator runs it: the
 * summary on stdout, errors naming the file with exit status 1, and --help that lists the formats.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TERMINOLOGY_FORMATS } from '../../../src/terminology/import/terminology-formats.ts';
import { formatFhirSummary } from '../../../src/terminology/import/terminology-import-cli.ts';
import { concordia } from '../../support/run-cli.ts';
import { FIXTURES } from './import-test-support.ts';

describe('concordia terminology import', () => {
  it('loads a release, prints one summary line, and fails with the file and line on a broken one', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'concordia-terminology-'));
    try {
      const env = { CONCORDIA_DATA_DIR: dataDir };
      const loaded = await concordia(
        ['terminology', 'import', 'claml', `${FIXTURES}claml/icd10-mini.xml`],
        env,
      );
      expect(loaded.code, loaded.stderr).toBe(0);
      expect(loaded.stdout).toMatch(
        /^Loaded 22 concepts of http:\/\/hl7\.org\/fhir\/sid\/icd-10\|2019 in \d+\.\d s \(\d+ concepts\/s\)\.\n$/,
      );

      const broken = join(dataDir, 'icd10cm_order_2021.txt');
      await writeFile(broken, '00001 A00     0 Cholera\n00002 A000    x Cholera due to\n');
      const failed = await concordia(['terminology', 'import', 'icd10cm', broken], env);
      expect(failed.code).toBe(1);
      expect(failed.stdout).toBe('');
      expect(failed.stderr).toContain(`concordia terminology import: ${broken}:2: not an order-file line`);

      const icpc2 = `${FIXTURES}icpc2/icpc2-mini.csv`;
      const noVersion = await concordia(['terminology', 'import', 'icpc2', icpc2], env);
      expect(noVersion.code).toBe(1);
      expect(noVersion.stderr).toContain('pass --version');
      // --version after the command is the release, not `concordia --version`.
      const versioned = await concordia(
        ['terminology', 'import', 'icpc2', icpc2, '--version', '2e-test'],
        env,
      );
      expect(versioned.code, versioned.stderr).toBe(0);
      expect(versioned.stdout).toMatch(
        /^Loaded 8 concepts of http:\/\/hl7\.org\/fhir\/sid\/icpc-2\|2e-test in .*; 1 warning\.\n$/,
      );
      expect(versioned.stderr).toContain('warning: XX1 (Local code) is not an ICPC-2 code; left out');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 240_000);

  it('rejects an unknown format and a missing path before opening the database', async () => {
    const unknown = await concordia(['terminology', 'import', 'csv', '/tmp/x.csv']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`must be one of ${TERMINOLOGY_FORMATS.join(', ')}`);
    const missing = await concordia(['terminology', 'import', 'claml', '/nonexistent/icd10.xml']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      'concordia terminology import: /nonexistent/icd10.xml: no such file or folder',
    );
  });

  it('documents every format in --help', async () => {
    const { code, stdout } = await concordia(['terminology', 'import', '--help']);
    expect(code).toBe(0);
    for (const format of TERMINOLOGY_FORMATS) expect(stdout).toMatch(new RegExp(`^  ${format} `, 'm'));
    expect(stdout).toContain('docs/terminology.md');
  });

  it('summarises a fhir import in one line', () => {
    const summary = {
      resources: 3,
      codeSystems: 1,
      concepts: 5,
      conceptMaps: 1,
      mapElements: 2,
      skipped: 1,
      failures: [],
    };
    expect(formatFhirSummary(summary, 1.24)).toBe(
      'Imported 3 terminology resources in 1.2 s: 1 code systems with 5 concepts, 1 concept maps with 2 elements; 0 failures; 1 other resources skipped (use concordia import).',
    );
    expect(formatFhirSummary({ ...summary, skipped: 0 }, 1)).toMatch(/; 0 failures\.$/);
  });
});
