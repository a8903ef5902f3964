/**
 * The compact element model the definitions index keeps from the R4 StructureDefinitions: just
 * what structural validation and search need, so the 35 MB of spec JSON can be dropped after
 * loading. Terms follow http://hl7.org/fhir/R4/elementdefinition.html.
 */

export type TypeKind = 'resource' | 'complex-type' | 'primitive-type';

/** One ElementDefinition of a type's snapshot, e.g. `Observation.value[x]` or `Questionnaire.item.item`. */
export interface ElementSchema {
  /** The definition path, choice elements keep their `[x]`: `Observation.value[x]`. */
  readonly path: string;
  readonly min: number;
  /** `Number.POSITIVE_INFINITY` for `*`. */
  readonly max: number;
  /** Serialised as a JSON array: the base definition allows more than one (json.html#arrays). */
  readonly isArray: boolean;
  /** FHIR type codes (`string`, `Quantity`, `BackboneElement`, `Resource`); empty with a contentReference. */
  readonly types: readonly string[];
  /** `#Questionnaire.item` for `Questionnaire.item.item` (elementdefinition-definitions.html#ElementDefinition.contentReference). */
  readonly contentReference?: string;
  readonly isChoice: boolean;
  /** Defines its own children inline (BackboneElement, or `Element` as in `Timing.repeat`). */
  readonly isBackbone: boolean;
}

/**
 * One JSON property name allowed in an object: a plain element, or one expansion of a choice
 * element (`valueQuantity` for `Observation.value[x]`).
 */
export interface PropertySchema {
  /** The JSON property name. */
  readonly name: string;
  readonly element: ElementSchema;
  /** The concrete FHIR type of the value; for backbone and content-reference elements, `BackboneElement`/`Element`. */
  readonly type: string;
  /**
   * Where the value's own properties are described: a type name (`HumanName`, `date`) or, for
   * backbone and content-reference elements, a definition path (`Questionnaire.item`).
   */
  readonly contentPath: string;
}

/** The properties one JSON object may have: a type's root or one of its backbone elements. */
export interface NodeSchema {
  readonly path: string;
  readonly properties: ReadonlyMap<string, PropertySchema>;
  /** Elements with `min` ≥ 1. */
  readonly required: readonly ElementSchema[];
  /** Choice elements, to name the variants in messages and catch two variants at once. */
  readonly choices: readonly ElementSchema[];
}

export interface TypeSchema {
  readonly name: string;
  readonly kind: TypeKind;
  readonly abstract: boolean;
  /** In definition order, the root element (`Patient`) first. */
  readonly elements: readonly ElementSchema[];
}

/** A primitive's JSON representation (json.html#primitive) and lexical rule (datatypes.html#primitive). */
export interface PrimitiveRule {
  readonly type: string;
  readonly json: 'string' | 'number' | 'boolean';
  /** The spec's regex for `<type>.value`, as published; absent for `xhtml`. */
  readonly pattern?: string;
  /** Whether a lexical form (the string, or a number/boolean as JSON writes it) matches `pattern`. */
  readonly matches: (lexical: string) => boolean;
}

/** `value[x]` → `value`. */
export function choiceBaseName(element: ElementSchema): string {
  return lastSegment(element.path).replace('[x]', '');
}

export function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('.') + 1);
}

/** `valueQuantity` from `value[x]` and `Quantity` (json.html#choice). */
export function choicePropertyName(baseName: string, type: string): string {
  return baseName + type.charAt(0).toUpperCase() + type.slice(1);
}
