/**
 * `concordia certificates add|list|revoke`: the command-line side of `$register-certificate`,
 * for administrators working on the server host.
 */
import { readFile } from 'node:fs/promises';
import { FhirError } from '@concordia/fhir';
import type { Command } from 'commander';
import type { OpenDatabase } from '../identity/identity-cli.ts';
import { sql } from '../store/sql.ts';
import { registerCertificate } from './certificate-registration.ts';
import { createCertificateRegistry, type RegisteredCertificate } from './certificate-registry.ts';
import { loadTrustStore } from './trust-store.ts';

export function registerCertificateCommands(program: Command, open: OpenDatabase): void {
  const certificates = program
    .command('certificates')
    .description("Clinicians' signing certificates (X.509, ES256 or RS256).");
  certificates
    .command('add')
    .description(
      'Register a PEM certificate chain (leaf first) as the signing certificate of a Practitioner.',
    )
    .requiredOption('-p, --practitioner <id>', 'id of the Practitioner who signs with it')
    .argument('<pem-file>', 'the certificate, followed by its intermediate CA certificates')
    .action(async (file: string, options: { practitioner: string }) => {
      const { config, database } = await open();
      try {
        const [practitioner] = await database.query(sql`select 1 as present from resource
          where resource_type = 'Practitioner' and id = ${options.practitioner} and not deleted`);
        if (practitioner === undefined)
          throw new CommandError(`Practitioner/${options.practitioner} not found`);
        const trust = await loadTrustStore(
          config.signatureTrustAnchorFiles ?? [],
          config.signatureCrlFiles ?? [],
        );
        const registry = await createCertificateRegistry(database);
        const registered = await registerCertificate(
          registry,
          trust,
          options.practitioner,
          await readFile(file, 'utf8'),
        );
        process.stdout.write(`${formatRegistration(registered)}\n`);
      } catch (error) {
        report(error);
      } finally {
        await database.close();
      }
    });
  certificates
    .command('list')
    .description('List registered signing certificates, newest first.')
    .option('-p, --practitioner <id>', 'only those of this Practitioner')
    .action(async (options: { practitioner?: string }) => {
      const { database } = await open();
      try {
        const registry = await createCertificateRegistry(database);
        for (const registered of await registry.list(options.practitioner)) {
          process.stdout.write(`${formatRegistration(registered)}\n`);
        }
      } finally {
        await database.close();
      }
    });
  certificates
    .command('revoke')
    .description('Stop accepting signatures made with a registered certificate (revoke it at the CA too).')
    .argument('<kid>', 'the certificate thumbprint (kid) that "list" shows')
    .action(async (kid: string) => {
      const { database } = await open();
      try {
        const registry = await createCertificateRegistry(database);
        if (!(await registry.revoke(kid))) throw new CommandError(`no active registration with kid ${kid}`);
        process.stdout.write(`Revoked the registration of ${kid}.\n`);
      } catch (error) {
        report(error);
      } finally {
        await database.close();
      }
    });
}

class CommandError extends Error {}

function report(error: unknown): void {
  if (error instanceof CommandError) process.stderr.write(`concordia: ${error.message}\n`);
  else if (error instanceof FhirError) process.stderr.write(`concordia: ${error.message}\n`);
  else throw error;
  process.exitCode = 1;
}

function formatRegistration(registered: RegisteredCertificate): string {
  const state = registered.revokedAt === undefined ? 'active' : `revoked ${registered.revokedAt}`;
  return [
    registered.thumbprint,
    `Practitioner/${registered.practitionerId}`,
    registered.subject,
    `valid ${registered.notBefore} to ${registered.notAfter}`,
    state,
  ].join('\t');
}
