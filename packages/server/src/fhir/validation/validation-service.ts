/**
 * The exchange's validator (docs/validation.md): the R4 definitions, plus every conformance
 * resource it learns — packages from the conformance directory, StructureDefinitions, ValueSets
 * and CodeSystems stored through the API — checked against the spec's value sets in memory and
 * then the terminology service. One instance per process; the registry compiles each profile once.
 */
import {
  firstKnowing,
  InMemoryValueSets,
  isRecord,
  type OutcomeIssue,
  type ProfileRegistry,
  ResourceValidator,
  r4ProfileRegistry,
  r4ValueSets,
} from '@concordia/fhir';
import type { Logger } from 'pino';
import { systemContext } from '../../access/request-context.ts';
import type { ResourceStore } from '../../store/port.ts';
import type { TerminologyService } from '../../terminology/terminology-service.ts';
import { readConformanceDirectory } from './conformance-package.ts';
import { terminologyBindings } from './terminology-bindings.ts';
import type { ValidationConfig } from './validation-policy.ts';

export interface ValidationService {
  readonly config: ValidationConfig;
  readonly registry: ProfileRegistry;
  /** `structureChecked`: the core has run the structural pass already (writes: resource-body.ts). */
  validate(
    resource: unknown,
    profiles?: readonly string[],
    structureChecked?: boolean,
  ): Promise<OutcomeIssue[]>;
  /** A StructureDefinition, ValueSet or CodeSystem becomes known (stored, or from a package). */
  learn(resource: unknown): void;
  /** The stored StructureDefinition with this id was deleted: its profile is no longer known. */
  forgetStructureDefinition(id: string): void;
  /** Loads the packages of the conformance directory and the conformance resources already stored. */
  load(store: ResourceStore): Promise<void>;
}

export interface ValidationServiceOptions {
  config: ValidationConfig;
  terminology?: TerminologyService;
  logger: Logger;
}

const LOAD_CONTEXT = systemContext('validation');
const PAGE = 500;

export function createValidationService(options: ValidationServiceOptions): ValidationService {
  const { config, logger } = options;
  const registry = r4ProfileRegistry();
  // Value sets a package brings; the spec's own stay shared by every validator in the process.
  const packageValueSets = new InMemoryValueSets();
  const stored = options.terminology === undefined ? undefined : terminologyBindings(options.terminology);
  const validator = new ResourceValidator({
    registry,
    bindings: firstKnowing([r4ValueSets(), packageValueSets, ...(stored === undefined ? [] : [stored])]),
    allowedExtensionDomains: config.allowedExtensionDomains,
  });
  // A tombstone carries no URL: remember which profile each stored StructureDefinition holds.
  const urlOfStored = new Map<string, string>();
  const learn = (resource: unknown): void => {
    if (!isRecord(resource)) return;
    if (resource.resourceType === 'StructureDefinition') {
      if (typeof resource.id === 'string' && typeof resource.url === 'string')
        urlOfStored.set(resource.id, resource.url);
      if (!registry.addResource(resource)) {
        logger.warn(
          { url: resource.url },
          'a StructureDefinition without a snapshot cannot be used for validation',
        );
      }
    } else {
      packageValueSets.add(resource);
      stored?.reconsiderUnknown();
    }
  };
  return {
    config,
    registry,
    validate: (resource, profiles, structureChecked) =>
      validator.validate(resource, { profiles: profiles ?? [], structureChecked: structureChecked === true }),
    learn,
    forgetStructureDefinition(id) {
      const url = urlOfStored.get(id);
      if (url !== undefined) registry.remove(url);
    },
    async load(store) {
      if (config.conformanceDir !== undefined) {
        for (const found of await readConformanceDirectory(config.conformanceDir)) {
          for (const resource of found.resources) learn(resource);
          logger.info(
            { package: found.name, resources: found.resources.length },
            'loaded a conformance package',
          );
        }
      }
      let stored = 0;
      for (const resourceType of ['StructureDefinition', 'ValueSet', 'CodeSystem']) {
        let cursor: string | undefined;
        do {
          const page = await store.search(LOAD_CONTEXT, {
            resourceTypes: [resourceType],
            allTypes: false,
            filters: [],
            sort: [],
            count: PAGE,
            ...(cursor === undefined ? {} : { cursor }),
            total: 'none',
            includes: [],
            includeLimit: 0,
          });
          for (const match of page.matches) learn(JSON.parse(match.json));
          stored += page.matches.length;
          cursor = page.next;
        } while (cursor !== undefined);
      }
      if (stored > 0)
        logger.info({ resources: stored }, 'loaded the stored conformance resources into the validator');
    },
  };
}
