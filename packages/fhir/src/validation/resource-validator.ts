/**
 * Validation of a resource (http://hl7.org/fhir/R4/validation.html): the structural pass
 * (structure.ts: JSON form, datatypes, base cardinality), then one walk against the compiled
 * profiles — the base definition of its type, the profiles it declares in meta.profile and
 * those the caller asks for — then the terminology bindings that walk collected, checked
 * through a BindingChecker (required → error, extensible → warning, preferred/example ignored).
 */
import type { DefinitionsIndex } from '../definitions/definitions-index.ts';
import { r4DefinitionsIndex } from '../definitions/r4-definitions.ts';
import type { OutcomeIssue } from '../outcome.ts';
import { isRecord } from '../resource.ts';
import type { BindingChecker } from './binding-checker.ts';
import type { ProfileRegistry } from './profile/profile-registry.ts';
import { type PendingBinding, ProfileWalk } from './profile/profile-walk.ts';
import { validateResourceStructure } from './structure.ts';

export interface ResourceValidatorOptions {
  registry: ProfileRegistry;
  /** Where bindings are checked; without one, bindings are not checked. */
  bindings?: BindingChecker;
  /** How an extension with an unknown definition is reported (default `warning`; modifierExtensions are always errors). */
  unknownExtension?: 'warning' | 'error';
  /** URL prefixes whose extensions need no definition here (a partner's namespace). */
  allowedExtensionDomains?: readonly string[];
  definitions?: DefinitionsIndex;
}

export interface ValidateOptions {
  /** Profiles to validate against besides the base definition and meta.profile (`$validate?profile=`). */
  profiles?: readonly string[];
  /**
   * Skip the structural pass when the caller has just run it (the server's create, update and
   * patch do, in resource-body.ts, before a write reaches the write hooks). Default: run it.
   */
  structureChecked?: boolean;
}

export class ResourceValidator {
  constructor(private readonly options: ResourceValidatorOptions) {}

  get registry(): ProfileRegistry {
    return this.options.registry;
  }

  async validate(resource: unknown, options: ValidateOptions = {}): Promise<OutcomeIssue[]> {
    const issues =
      options.structureChecked === true
        ? []
        : validateResourceStructure(resource, this.options.definitions ?? r4DefinitionsIndex());
    if (!isRecord(resource) || typeof resource.resourceType !== 'string') return issues;
    const walk = new ProfileWalk(this.options.registry, {
      unknownExtension: this.options.unknownExtension ?? 'warning',
      allowedExtensionDomains: this.options.allowedExtensionDomains ?? [],
      collectBindings: this.options.bindings !== undefined,
    });
    walk.resource(resource, resource.resourceType, resource, options.profiles ?? []);
    issues.push(...walk.issues.list);
    if (this.options.bindings !== undefined && walk.bindings.length > 0) {
      const checker = this.options.bindings;
      const found = await Promise.all(walk.bindings.map((pending) => checkBinding(checker, pending)));
      for (const issue of found) if (issue !== undefined) issues.push(issue);
    }
    return issues;
  }
}

async function checkBinding(
  checker: BindingChecker,
  pending: PendingBinding,
): Promise<OutcomeIssue | undefined> {
  const { binding, codings } = pending;
  const answers = await Promise.all(codings.map((coding) => checker.check(binding.valueSet, coding)));
  if (answers.some((answer) => answer.known && answer.valid)) return undefined;
  // A CodeableConcept with a coding the checker cannot judge may still be right.
  if (!answers.every((answer) => answer.known)) return undefined;
  const shown = codings
    .map((c) => (c.system === undefined ? `'${c.code}'` : `${c.system}#${c.code}`))
    .join(', ');
  const required = binding.strength === 'required';
  return {
    severity: required ? 'error' : 'warning',
    code: 'code-invalid',
    diagnostics: `The value provided (${shown}) is not in the value set ${binding.valueSet}, ${required ? 'which is required' : 'which is extensible: a code from it should be used when one applies'} (terminologies.html#strength)`,
    expression: [pending.expression],
  };
}
