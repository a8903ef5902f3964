/** The minimal shape every FHIR resource shares; element-level typing comes from the definitions. */
export interface Meta {
  versionId?: string;
  lastUpdated?: string;
  source?: string;
  profile?: string[];
  security?: Coding[];
  tag?: Coding[];
  [extension: string]: unknown;
}

export interface Coding {
  system?: string;
  version?: string;
  code?: string;
  display?: string;
  userSelected?: boolean;
}

export interface FhirResource {
  resourceType: string;
  id?: string;
  meta?: Meta;
  [element: string]: unknown;
}

/** A resource whose identity is known: stored resources always have one. */
export interface IdentifiedResource extends FhirResource {
  id: string;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** http://hl7.org/fhir/R4/datatypes.html#id */
const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}
