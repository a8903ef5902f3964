/**
 * FHIR NPM packages (folder or .tgz, https://confluence.hl7.org/display/FHIR/NPM+Package+Specification)
 * and the validation settings, without a server.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { readConformancePackage } from '../../../src/fhir/validation/conformance-package.ts';
import { parseValidationSettings, policyFor } from '../../../src/fhir/validation/validation-policy.ts';

async function packageTarball(files: Record<string, unknown>): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'concordia-package-')), 'ig.tgz');
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name }, JSON.stringify(content));
  pack.finalize();
  await pipeline(pack, createGzip(), createWriteStream(path));
  return path;
}

describe('conformance packages', () => {
  it('reads the StructureDefinitions, ValueSets and CodeSystems of a .tgz, and nothing else', async () => {
    const path = await packageTarball({
      'package/package.json': { name: 'example.ig', version: '0.1.0' },
      'package/StructureDefinition-a.json': {
        resourceType: 'StructureDefinition',
        id: 'a',
        url: 'http://x/a',
      },
      'package/ValueSet-b.json': { resourceType: 'ValueSet', id: 'b', url: 'http://x/b' },
      'package/Patient-example.json': { resourceType: 'Patient', id: 'p' },
      'package/other/CodeSystem-c.json': { resourceType: 'CodeSystem', id: 'c' },
    });
    const found = await readConformancePackage(path);
    expect(found.name).toBe('example.ig#0.1.0');
    expect(found.resources.map((r) => r.id).sort()).toEqual(['a', 'b']);
  });

  it('answers not-found for a path that does not exist', async () => {
    await expect(readConformancePackage('/nonexistent/package.tgz')).rejects.toMatchObject({
      kind: 'not-found',
    });
  });
});

describe('validation settings', () => {
  it('parses the policy, per-type policies and per-type profiles', () => {
    const problems: string[] = [];
    const config = parseValidationSettings(
      {
        policy: 'warn',
        types: 'Binary:off, Observation:reject',
        profiles: 'Patient=http://a/p|http://a/q;Condition=http://a/c',
      },
      problems,
    );
    expect(problems).toEqual([]);
    expect(policyFor(config, 'Binary')).toBe('off');
    expect(policyFor(config, 'Observation')).toBe('reject');
    expect(policyFor(config, 'Patient')).toBe('warn');
    expect(config.profilesByType).toEqual({
      Patient: ['http://a/p', 'http://a/q'],
      Condition: ['http://a/c'],
    });
  });

  it('lists every malformed setting', () => {
    const problems: string[] = [];
    parseValidationSettings(
      { policy: 'strict', types: 'Binary=off', profiles: 'Patient=not a url' },
      problems,
    );
    expect(problems).toHaveLength(3);
  });
});
