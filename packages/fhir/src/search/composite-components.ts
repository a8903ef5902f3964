/**
 * What the index can hold of a composite parameter (http://hl7.org/fhir/R4/search.html#composite):
 * its components typed by the parameters they name (SearchParameter.component.definition).
 *
 * One index row holds one combination of component values from one item, in typed columns: a
 * token first, then a value of any type but composite and special, then optionally a number.
 * Every R4 composite has that shape — token + token/quantity/date/string/reference (Observation,
 * `useContext`, DocumentReference `relationship`, Group `characteristic-value`) and token + number +
 * number (MolecularSequence coordinates); a custom one that does not is neither indexed nor searchable.
 */
import type { CompositeComponent, SearchParameterDefinition, SearchParamType } from './search-parameters.ts';

/** The types a composite's second component may have: one column group each in the index. */
export const COMPOSITE_VALUE_TYPES = [
  'token',
  'number',
  'quantity',
  'date',
  'string',
  'reference',
  'uri',
] as const;

export type CompositeValueType = (typeof COMPOSITE_VALUE_TYPES)[number];

export interface TypedComponent extends CompositeComponent {
  type: SearchParamType;
}

/** `token`, a value, and optionally a `number`. */
export type CompositeShape = [
  TypedComponent & { type: 'token' },
  TypedComponent & { type: CompositeValueType },
  ...(TypedComponent & { type: 'number' })[],
];

export type CompositeComponents = { shape: CompositeShape } | { unsupported: string };

/**
 * The components of `definition` with their types, or why the index has no place for them.
 * @param typeOfDefinition the type of the parameter with a canonical URL (the registry's).
 */
export function compositeComponents(
  definition: SearchParameterDefinition,
  typeOfDefinition: (url: string) => SearchParamType | undefined,
): CompositeComponents {
  const components = definition.components ?? [];
  const typed: TypedComponent[] = [];
  for (const component of components) {
    const type = typeOfDefinition(component.definition);
    if (type === undefined) {
      return { unsupported: `its component ${component.definition} is not a known search parameter` };
    }
    typed.push({ ...component, type });
  }
  const [first, second, third, ...more] = typed;
  if (first === undefined || second === undefined) return { unsupported: 'it has fewer than two components' };
  if (more.length > 0) return { unsupported: 'it has more than three components' };
  if (!isType(first, 'token')) return { unsupported: 'its first component is not a token' };
  if (!isValueComponent(second)) {
    return { unsupported: `its second component is a ${second.type} parameter` };
  }
  if (third === undefined) return { shape: [first, second] };
  if (!isType(third, 'number')) return { unsupported: 'its third component is not a number' };
  return { shape: [first, second, third] };
}

function isType<T extends SearchParamType>(
  component: TypedComponent,
  type: T,
): component is TypedComponent & { type: T } {
  return component.type === type;
}

function isValueComponent(
  component: TypedComponent,
): component is TypedComponent & { type: CompositeValueType } {
  return COMPOSITE_VALUE_TYPES.some((type) => type === component.type);
}

/**
 * Whether the index holds `definition` in a form search can use: a composite of a shape above,
 * a special parameter of the `nearby` kind (Location `near`); a parameter of any other type, yes.
 * The CapabilityStatement lists a parameter only when this holds (and the store searches its type).
 */
export function hasIndexedShape(
  definition: SearchParameterDefinition,
  typeOfDefinition: (url: string) => SearchParamType | undefined,
): boolean {
  if (definition.type === 'composite') return 'shape' in compositeComponents(definition, typeOfDefinition);
  if (definition.type === 'special') return definition.xpathUsage === 'nearby';
  return true;
}
