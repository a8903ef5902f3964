/**
 * Reads the parts of R4 StructureDefinitions (http://hl7.org/fhir/R4/structuredefinition.html)
 * that the definitions index keeps. Input is `unknown` spec JSON, parsed defensively: a malformed
 * entry is skipped rather than trusted.
 */
import { isRecord } from '../resource.ts';
import type { TypeKind } from './element-schema.ts';

/** An ElementDefinition reduced to cardinality, types and content reference. */
export interface RawElement {
  path: string;
  min: number;
  /** As written: `'0'`, `'1'`, `'*'`. */
  max: string;
  /** `base.max`, which decides the JSON array form (json.html#arrays). */
  baseMax: string;
  types: string[];
  contentReference?: string;
}

export interface RawStructureDefinition {
  name: string;
  kind: TypeKind;
  abstract: boolean;
  /** `specialization` for the core types; `constraint` for profiles such as SimpleQuantity. */
  derivation?: string;
  fhirVersion?: string;
  elements: RawElement[];
  /** For primitive types, the regex on `<type>.value`. */
  valuePattern?: string;
}

const FHIR_TYPE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const REGEX_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/regex';

/**
 * `id`, `Extension.url` and primitive `value` elements are typed with FHIRPath system types; the
 * FHIR type they stand for is in the structuredefinition-fhir-type extension, with this fallback.
 */
const SYSTEM_TYPE_FALLBACK: Record<string, string> = {
  'http://hl7.org/fhirpath/System.String': 'string',
  'http://hl7.org/fhirpath/System.Boolean': 'boolean',
  'http://hl7.org/fhirpath/System.Integer': 'integer',
  'http://hl7.org/fhirpath/System.Decimal': 'decimal',
  'http://hl7.org/fhirpath/System.Date': 'date',
  'http://hl7.org/fhirpath/System.DateTime': 'dateTime',
  'http://hl7.org/fhirpath/System.Time': 'time',
};

const TYPE_KINDS: readonly string[] = ['resource', 'complex-type', 'primitive-type'];

function isTypeKind(value: unknown): value is TypeKind {
  return typeof value === 'string' && TYPE_KINDS.includes(value);
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function recordsOf(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function extensionValue(holder: Record<string, unknown>, url: string): string | undefined {
  const extension = recordsOf(holder.extension).find((e) => e.url === url);
  return extension ? (stringOf(extension.valueUrl) ?? stringOf(extension.valueString)) : undefined;
}

function readTypeCode(type: Record<string, unknown>): string | undefined {
  const code = stringOf(type.code);
  if (code === undefined || !code.startsWith('http://hl7.org/fhirpath/')) return code;
  return extensionValue(type, FHIR_TYPE_EXTENSION) ?? SYSTEM_TYPE_FALLBACK[code];
}

function readElement(element: Record<string, unknown>): RawElement | undefined {
  const path = stringOf(element.path);
  const max = stringOf(element.max);
  if (path === undefined || max === undefined) return undefined;
  const base = isRecord(element.base) ? element.base : {};
  const types = recordsOf(element.type)
    .map(readTypeCode)
    .filter((code): code is string => code !== undefined);
  const contentReference = stringOf(element.contentReference);
  return {
    path,
    min: typeof element.min === 'number' ? element.min : 0,
    max,
    baseMax: stringOf(base.max) ?? max,
    types,
    ...(contentReference === undefined ? {} : { contentReference }),
  };
}

function readValuePattern(name: string, elements: Record<string, unknown>[]): string | undefined {
  const valueElement = elements.find((e) => e.path === `${name}.value`);
  const type = recordsOf(valueElement?.type)[0];
  return type ? extensionValue(type, REGEX_EXTENSION) : undefined;
}

export function readStructureDefinition(resource: unknown): RawStructureDefinition | undefined {
  if (!isRecord(resource) || resource.resourceType !== 'StructureDefinition') return undefined;
  const name = stringOf(resource.name);
  const kind = resource.kind;
  const snapshot = isRecord(resource.snapshot) ? recordsOf(resource.snapshot.element) : [];
  if (name === undefined || !isTypeKind(kind) || snapshot.length === 0) return undefined;
  const elements = snapshot.map(readElement).filter((e): e is RawElement => e !== undefined);
  const derivation = stringOf(resource.derivation);
  const fhirVersion = stringOf(resource.fhirVersion);
  const valuePattern = kind === 'primitive-type' ? readValuePattern(name, snapshot) : undefined;
  return {
    name,
    kind,
    abstract: resource.abstract === true,
    ...(derivation === undefined ? {} : { derivation }),
    ...(fhirVersion === undefined ? {} : { fhirVersion }),
    elements,
    ...(valuePattern === undefined ? {} : { valuePattern }),
  };
}

/** Every StructureDefinition in a definitions Bundle (`profiles-resources.json`, `Bundle-types`…). */
export function readStructureDefinitions(bundle: unknown): RawStructureDefinition[] {
  if (!isRecord(bundle)) return [];
  return recordsOf(bundle.entry)
    .map((entry) => readStructureDefinition(entry.resource))
    .filter((sd): sd is RawStructureDefinition => sd !== undefined);
}
