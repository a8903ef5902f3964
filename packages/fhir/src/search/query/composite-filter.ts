/**
 * Composite values (http://hl7.org/fhir/R4/search.html#composite): `a$b` or `a$b$c`, one part
 * per component (SearchParameter.component), each parsed as a value of the parameter that
 * component names — `http://loinc.org|8480-6$lt60` is a token and a prefixed quantity. `\$` is a
 * literal `$` (search.html#escaping); commas separate alternatives of the whole value.
 */
import { type CompositeShape, compositeComponents } from '../composite-components.ts';
import type { SearchParamType } from '../search-parameters.ts';
import { splitUnescaped } from './escaping.ts';
import { type FilterContext, splitAlternatives, valueFilter } from './filter-values.ts';
import { malformed, unsupported } from './parameter-issue.ts';
import type { CompositeComponentValue, CompositeValue, SearchFilter } from './search-query.ts';

/**
 * @param typeOfDefinition the type of the parameter a component names, by canonical URL.
 */
export function compositeFilter(
  context: FilterContext,
  raw: string,
  typeOfDefinition: (url: string) => SearchParamType | undefined,
): SearchFilter {
  const { parameter, definition, modifier } = context;
  const components = compositeComponents(definition, typeOfDefinition);
  if ('unsupported' in components) {
    throw unsupported(
      parameter,
      `Composite parameter '${definition.code}' is not searchable: ${components.unsupported}`,
    );
  }
  if (modifier === 'missing') return valueFilter(context, raw);
  if (modifier !== undefined) {
    throw unsupported(
      parameter,
      `Modifier ':${modifier}' is not defined for composite parameter '${definition.code}'`,
    );
  }
  const values = splitAlternatives(parameter, raw).map((value) =>
    compositeValue(context, components.shape, value),
  );
  return { kind: 'composite', parameter, code: definition.code, values };
}

function compositeValue(context: FilterContext, shape: CompositeShape, raw: string): CompositeValue {
  const parts = splitUnescaped(raw, '$');
  if (parts.length !== shape.length) {
    throw malformed(
      context.parameter,
      `'${raw}' must have ${shape.length} parts separated by '$' (${shape.map((c) => c.type).join('$')})`,
    );
  }
  return {
    components: parts.map((part, position) => {
      const component = shape[position];
      if (component === undefined) throw malformed(context.parameter, `'${raw}' has too many parts`);
      return componentValue(context, component.type, part);
    }),
  };
}

/** One part, parsed by the parser of its type: the same syntax as that parameter on its own. */
function componentValue(
  context: FilterContext,
  type: CompositeShape[number]['type'],
  part: string,
): CompositeComponentValue {
  const { parameter, definition } = context;
  if (part.length === 0) throw malformed(parameter, `A component of '${parameter}' is empty`);
  const filter = valueFilter(
    {
      parameter,
      definition: { code: definition.code, type, targets: [] },
      isResourceType: context.isResourceType,
    },
    // The part holds no unescaped comma (alternatives were split first), so it is one value.
    part,
  );
  const invalid = () => malformed(parameter, `'${part}' is not a ${type} value of '${parameter}'`);
  switch (filter.kind) {
    case 'token':
      if (filter.modifier !== undefined) throw invalid();
      return single(filter.values, (value) => ({ type: 'token', value }), invalid);
    case 'number':
      return single(filter.values, (value) => ({ type: 'number', value }), invalid);
    case 'quantity':
      return single(filter.values, (value) => ({ type: 'quantity', value }), invalid);
    case 'date':
      return single(filter.values, (value) => ({ type: 'date', value }), invalid);
    case 'string':
      return single(filter.values, (value) => ({ type: 'string', value }), invalid);
    case 'reference':
      return single(filter.values, (value) => ({ type: 'reference', value }), invalid);
    case 'uri':
      return single(filter.values, (value) => ({ type: 'uri', value }), invalid);
    default:
      throw invalid();
  }
}

function single<T>(
  values: readonly T[],
  toComponent: (value: T) => CompositeComponentValue,
  invalid: () => Error,
): CompositeComponentValue {
  const [value, ...more] = values;
  if (value === undefined || more.length > 0) throw invalid();
  return toComponent(value);
}
