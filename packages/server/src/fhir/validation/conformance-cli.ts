/**
 * `concordia conformance load <path>`: stores the StructureDefinitions, ValueSets and CodeSystems
 * of a FHIR NPM package (folder or .tgz, e.g. a national IG) through the FHIR API, as updates by
 * id, so that every node validates against them — this process at once (validation-write-hooks.ts),
 * a running server from its next start. Loading the same package again changes nothing.
 */
import type { Command } from 'commander';
import { systemContext } from '../../access/request-context.ts';
import type { FhirCore } from '../interaction.ts';
import { readConformancePackage } from './conformance-package.ts';

export type OpenConformanceCore = () => Promise<{ core: FhirCore; close(): Promise<void> }>;

const CLI_CONTEXT = systemContext('conformance-cli');

export function registerConformanceCommands(program: Command, open: OpenConformanceCore): void {
  const conformance = program
    .command('conformance')
    .description('Manage the conformance resources (profiles, value sets) the server validates against.');
  conformance
    .command('load')
    .description(
      'Store the StructureDefinitions, ValueSets and CodeSystems of a FHIR NPM package (folder or .tgz).',
    )
    .argument('<path>', 'the package: a folder (with package/ or the JSON files) or a .tgz')
    .action(async (path: string) => {
      const found = await readConformancePackage(path);
      const { core, close } = await open();
      let stored = 0;
      const failures: string[] = [];
      try {
        for (const resource of found.resources) {
          const id = resource.id;
          const label = `${String(resource.resourceType)}/${String(id)}`;
          if (typeof id !== 'string') {
            failures.push(`${String(resource.resourceType)} ${String(resource.url)}: no id`);
            continue;
          }
          const response = await core.handle(CLI_CONTEXT, {
            method: 'PUT',
            path: `${String(resource.resourceType)}/${id}`,
            query: [],
            headers: { contentType: 'application/fhir+json' },
            body: resource,
            skipUnchanged: true,
          });
          if (response.status < 300) stored++;
          else failures.push(`${label}: HTTP ${response.status}`);
        }
      } finally {
        await close();
      }
      process.stdout.write(
        `${found.name}: stored ${stored} of ${found.resources.length} conformance resources\n`,
      );
      for (const failure of failures) process.stderr.write(`  not stored: ${failure}\n`);
      if (failures.length > 0) process.exitCode = 1;
    });
}
