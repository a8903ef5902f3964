/**
 * Validation on every write (issue 5): each resource written — by REST, in a transaction, by the
 * importer — is validated against the base definition, its meta.profile and the profiles the
 * exchange configures for its type, under the type's policy (validation-policy.ts). Errors refuse
 * the write with 422 (`reject`) or are logged (`warn`); warnings are logged at debug level, since
 * the core answers a successful write with the resource, not an OperationOutcome.
 *
 * Conformance resources stored through the API take effect after their transaction commits:
 * a StructureDefinition becomes a profile, a ValueSet or CodeSystem answers bindings.
 */
import { FhirError } from '@concordia/fhir';
import type { Logger } from 'pino';
import type { WriteHook } from '../write-hooks.ts';
import { policyFor } from './validation-policy.ts';
import type { ValidationService } from './validation-service.ts';

export function validationWriteHooks(validation: ValidationService, logger: Logger): WriteHook[] {
  return [
    {
      async beforeApply(change) {
        if (change.kind !== 'write') return;
        const { resource } = change;
        const policy = policyFor(validation.config, resource.resourceType);
        if (policy === 'off') return;
        // Every create, update and patch ran the structural pass before its change got here.
        const issues = await validation.validate(
          resource,
          validation.config.profilesByType[resource.resourceType],
          true,
        );
        const errors = issues.filter((issue) => issue.severity === 'error' || issue.severity === 'fatal');
        if (errors.length > 0 && policy === 'reject') throw new FhirError('unprocessable', errors);
        if (errors.length > 0) {
          logger.warn(
            { resourceType: resource.resourceType, id: resource.id, issues: errors },
            'stored a resource that does not validate (policy: warn)',
          );
        } else if (issues.some((issue) => issue.severity === 'warning')) {
          logger.debug(
            { resourceType: resource.resourceType, id: resource.id, issues },
            'validation warnings on write',
          );
        }
      },
    },
    ...['StructureDefinition', 'ValueSet', 'CodeSystem'].map(
      (resourceType): WriteHook => ({
        resourceType,
        async afterCommit(versions) {
          for (const version of versions) {
            if (version.json !== undefined) validation.learn(JSON.parse(version.json));
            else if (resourceType === 'StructureDefinition') validation.forgetStructureDefinition(version.id);
          }
        },
      }),
    ),
  ];
}
