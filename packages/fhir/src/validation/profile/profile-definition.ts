/**
 * The parts of a StructureDefinition (http://hl7.org/fhir/R4/structuredefinition.html) that
 * profile validation uses, read from `unknown` JSON. Narrative fields (definition, comment,
 * mapping…) are dropped on reading: they are most of the 70 MB of R4 spec JSON, and keeping
 * only this reduced form is what lets the registry hold every core type, profile and extension.
 */
import { isRecord } from '../../resource.ts';

export interface ProfileType {
  /** FHIR type code: `string`, `Reference`, `Extension`, `Patient`. */
  readonly code: string;
  /** Profiles the value must conform to (ElementDefinition.type.profile). */
  readonly profiles: readonly string[];
  /** For Reference/canonical: the allowed target profiles (ElementDefinition.type.targetProfile). */
  readonly targetProfiles: readonly string[];
}

export interface ProfileConstraint {
  readonly key: string;
  readonly severity: 'error' | 'warning';
  readonly human: string;
  readonly expression?: string;
}

export interface ProfileDiscriminator {
  readonly type: 'value' | 'exists' | 'pattern' | 'type' | 'profile';
  readonly path: string;
}

export interface ProfileSlicing {
  readonly discriminators: readonly ProfileDiscriminator[];
  readonly rules: 'open' | 'closed' | 'openAtEnd';
  readonly ordered: boolean;
}

export interface ProfileBinding {
  readonly strength: 'required' | 'extensible' | 'preferred' | 'example';
  readonly valueSet?: string;
}

export interface ProfileElement {
  readonly id: string;
  readonly path: string;
  readonly sliceName?: string;
  readonly min: number;
  /** `Number.POSITIVE_INFINITY` for `*`. */
  readonly max: number;
  readonly types: readonly ProfileType[];
  readonly contentReference?: string;
  /** fixed[x]: the value must be exactly this (elementdefinition-definitions.html#ElementDefinition.fixed_x_). */
  readonly fixed?: unknown;
  /** pattern[x]: the value must contain at least this. */
  readonly pattern?: unknown;
  readonly binding?: ProfileBinding;
  readonly constraints: readonly ProfileConstraint[];
  readonly slicing?: ProfileSlicing;
  readonly isModifier: boolean;
}

export interface ExtensionContext {
  readonly type: 'element' | 'extension' | 'fhirpath';
  readonly expression: string;
}

export interface ProfileDefinition {
  readonly url: string;
  readonly version?: string;
  readonly name: string;
  /** The type constrained or defined: `Patient`, `Extension`, `Quantity`. */
  readonly type: string;
  readonly kind: string;
  readonly abstract: boolean;
  readonly derivation: 'specialization' | 'constraint';
  readonly baseDefinition?: string;
  /** Where an extension may be used (structuredefinition-definitions.html#StructureDefinition.context). */
  readonly contexts: readonly ExtensionContext[];
  readonly elements: readonly ProfileElement[];
}

const FHIR_TYPE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const SYSTEM_TYPES: Record<string, string> = {
  'http://hl7.org/fhirpath/System.String': 'string',
  'http://hl7.org/fhirpath/System.Boolean': 'boolean',
  'http://hl7.org/fhirpath/System.Integer': 'integer',
  'http://hl7.org/fhirpath/System.Decimal': 'decimal',
  'http://hl7.org/fhirpath/System.Date': 'date',
  'http://hl7.org/fhirpath/System.DateTime': 'dateTime',
  'http://hl7.org/fhirpath/System.Time': 'time',
};
const STRENGTHS: readonly string[] = ['required', 'extensible', 'preferred', 'example'];
const DISCRIMINATOR_TYPES: readonly string[] = ['value', 'exists', 'pattern', 'type', 'profile'];

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function texts(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Type codes of `id`, `Extension.url` and primitive `value` elements are FHIRPath system types. */
function typeCode(type: Record<string, unknown>): string | undefined {
  const code = text(type.code);
  if (code === undefined || !code.startsWith('http://hl7.org/fhirpath/')) return code;
  const named = records(type.extension).find((e) => e.url === FHIR_TYPE_EXTENSION);
  return text(named?.valueUrl) ?? text(named?.valueUri) ?? SYSTEM_TYPES[code];
}

function readType(type: Record<string, unknown>): ProfileType | undefined {
  const code = typeCode(type);
  if (code === undefined) return undefined;
  return { code, profiles: texts(type.profile), targetProfiles: texts(type.targetProfile) };
}

/** The one `fixedXxx` / `patternXxx` property of an element, if any. */
function prefixedValue(element: Record<string, unknown>, prefix: string): unknown {
  for (const key of Object.keys(element)) {
    if (key.startsWith(prefix) && key.length > prefix.length) return element[key];
  }
  return undefined;
}

function readConstraint(constraint: Record<string, unknown>): ProfileConstraint | undefined {
  const key = text(constraint.key);
  if (key === undefined) return undefined;
  const expression = text(constraint.expression);
  return {
    key,
    severity: constraint.severity === 'warning' ? 'warning' : 'error',
    human: text(constraint.human) ?? key,
    ...(expression === undefined ? {} : { expression }),
  };
}

function readSlicing(slicing: unknown): ProfileSlicing | undefined {
  if (!isRecord(slicing)) return undefined;
  const discriminators = records(slicing.discriminator).flatMap((d): ProfileDiscriminator[] => {
    const type = text(d.type);
    const path = text(d.path);
    if (type === undefined || path === undefined || !DISCRIMINATOR_TYPES.includes(type)) return [];
    return [{ type: type as ProfileDiscriminator['type'], path }];
  });
  const rules = slicing.rules === 'closed' || slicing.rules === 'openAtEnd' ? slicing.rules : 'open';
  return { discriminators, rules, ordered: slicing.ordered === true };
}

function readBinding(binding: unknown): ProfileBinding | undefined {
  if (!isRecord(binding) || !STRENGTHS.includes(String(binding.strength))) return undefined;
  const valueSet = text(binding.valueSet);
  return {
    strength: binding.strength as ProfileBinding['strength'],
    ...(valueSet === undefined ? {} : { valueSet }),
  };
}

function readElement(element: Record<string, unknown>): ProfileElement | undefined {
  const path = text(element.path);
  if (path === undefined) return undefined;
  const max = text(element.max);
  const sliceName = text(element.sliceName);
  const contentReference = text(element.contentReference);
  const fixed = prefixedValue(element, 'fixed');
  const pattern = prefixedValue(element, 'pattern');
  const binding = readBinding(element.binding);
  const slicing = readSlicing(element.slicing);
  return {
    id: text(element.id) ?? path,
    path,
    ...(sliceName === undefined ? {} : { sliceName }),
    min: typeof element.min === 'number' ? element.min : 0,
    max: max === undefined || max === '*' ? Number.POSITIVE_INFINITY : Number.parseInt(max, 10),
    types: records(element.type)
      .map(readType)
      .filter((t): t is ProfileType => t !== undefined),
    ...(contentReference === undefined ? {} : { contentReference }),
    ...(fixed === undefined ? {} : { fixed }),
    ...(pattern === undefined ? {} : { pattern }),
    ...(binding === undefined ? {} : { binding }),
    constraints: records(element.constraint)
      .map(readConstraint)
      .filter((c): c is ProfileConstraint => c !== undefined),
    ...(slicing === undefined ? {} : { slicing }),
    isModifier: element.isModifier === true,
  };
}

/** A StructureDefinition with a snapshot, reduced; `undefined` for anything else. */
export function readProfileDefinition(resource: unknown): ProfileDefinition | undefined {
  if (!isRecord(resource) || resource.resourceType !== 'StructureDefinition') return undefined;
  const url = text(resource.url);
  const type = text(resource.type);
  const snapshot = isRecord(resource.snapshot) ? records(resource.snapshot.element) : [];
  if (url === undefined || type === undefined || snapshot.length === 0) return undefined;
  const version = text(resource.version);
  const baseDefinition = text(resource.baseDefinition);
  return {
    url,
    ...(version === undefined ? {} : { version }),
    name: text(resource.name) ?? type,
    type,
    kind: text(resource.kind) ?? 'resource',
    abstract: resource.abstract === true,
    derivation: resource.derivation === 'constraint' ? 'constraint' : 'specialization',
    ...(baseDefinition === undefined ? {} : { baseDefinition }),
    contexts: records(resource.context).flatMap((c): ExtensionContext[] => {
      const expression = text(c.expression);
      const contextType = c.type === 'extension' || c.type === 'fhirpath' ? c.type : 'element';
      return expression === undefined ? [] : [{ type: contextType, expression }];
    }),
    elements: snapshot.map(readElement).filter((e): e is ProfileElement => e !== undefined),
  };
}

/** Every StructureDefinition with a snapshot in a Bundle (the spec's `profiles-*.json`). */
export function readProfileDefinitions(bundle: unknown): ProfileDefinition[] {
  if (!isRecord(bundle)) return [];
  return records(bundle.entry)
    .map((entry) => readProfileDefinition(entry.resource))
    .filter((d): d is ProfileDefinition => d !== undefined);
}
