/**
 * The comma-separated values of one filter, by parameter type and modifier
 * (http://hl7.org/fhir/R4/search.html#token, #string, #reference, #uri, #modifiers).
 */
import { normalizeString } from '../normalize-string.ts';
import type { SearchParameterDefinition } from '../search-parameters.ts';
import { splitUnescaped, unescapeSearchValue } from './escaping.ts';
import { malformed, unsupported } from './parameter-issue.ts';
import { parseDateValue, parseNumberValue, parseQuantityValue } from './prefixed-values.ts';
import type { IdentifierOfTypeValue, ReferenceValue, SearchFilter, TokenValue } from './search-query.ts';

export interface FilterContext {
  parameter: string;
  definition: SearchParameterDefinition;
  modifier?: string;
  isResourceType: (type: string) => boolean;
}

/** Alternatives (OR) of one value; `\,` is a literal comma. Empty alternatives are malformed. */
export function splitAlternatives(parameter: string, value: string): string[] {
  if (value.length === 0) throw malformed(parameter, `Search parameter '${parameter}' has an empty value`);
  const values = splitUnescaped(value, ',');
  if (values.some((item) => item.length === 0)) {
    throw malformed(parameter, `Search parameter '${parameter}' has an empty value in '${value}'`);
  }
  return values;
}

export function valueFilter(context: FilterContext, raw: string): SearchFilter {
  const { parameter, definition, modifier } = context;
  const code = definition.code;
  if (modifier === 'missing') return missingFilter(context, raw);
  const values = splitAlternatives(parameter, raw);
  const refuse = () =>
    unsupported(
      parameter,
      `Modifier ':${modifier}' is not defined for ${definition.type} parameter '${code}'`,
    );
  switch (definition.type) {
    case 'token': {
      if (modifier === 'in' || modifier === 'not-in' || modifier === 'above' || modifier === 'below') {
        return { kind: 'terminology', parameter, code, modifier, values: values.map(unescapeSearchValue) };
      }
      if (modifier === 'text') {
        const texts = values.map(unescapeSearchValue);
        if (texts.some((text) => normalizeString(text).length === 0)) {
          throw malformed(parameter, `Search parameter '${parameter}' has an empty value`);
        }
        return { kind: 'token', parameter, code, modifier, values: texts };
      }
      if (modifier === 'of-type') {
        return {
          kind: 'token',
          parameter,
          code,
          modifier,
          values: values.map((value) => ofTypeValue(parameter, value)),
        };
      }
      if (modifier !== undefined && modifier !== 'not') throw refuse();
      const tokens = values.map((value) => tokenValue(parameter, value));
      return { kind: 'token', parameter, code, ...(modifier ? { modifier } : {}), values: tokens };
    }
    case 'string': {
      if (modifier !== undefined && modifier !== 'exact' && modifier !== 'contains') throw refuse();
      const match = modifier ?? 'starts-with';
      const texts = values.map(unescapeSearchValue);
      if (match !== 'exact' && texts.some((text) => normalizeString(text).length === 0)) {
        throw malformed(parameter, `Search parameter '${parameter}' has an empty value`);
      }
      return { kind: 'string', parameter, code, match, values: texts };
    }
    case 'reference':
      return referenceFilter(context, values);
    case 'uri': {
      if (modifier !== undefined && modifier !== 'above' && modifier !== 'below') throw refuse();
      return {
        kind: 'uri',
        parameter,
        code,
        match: modifier ?? 'equals',
        values: values.map(unescapeSearchValue),
      };
    }
    case 'date':
      if (modifier !== undefined) throw refuse();
      return { kind: 'date', parameter, code, values: values.map((v) => parseDateValue(parameter, v)) };
    case 'number':
      if (modifier !== undefined) throw refuse();
      return { kind: 'number', parameter, code, values: values.map((v) => parseNumberValue(parameter, v)) };
    case 'quantity':
      if (modifier !== undefined) throw refuse();
      return {
        kind: 'quantity',
        parameter,
        code,
        values: values.map((v) => parseQuantityValue(parameter, v)),
      };
    default:
      throw unsupported(parameter, `Search parameters of type ${definition.type} are not supported yet`);
  }
}

function missingFilter(context: FilterContext, raw: string): SearchFilter {
  if (raw !== 'true' && raw !== 'false') {
    throw malformed(context.parameter, `':missing' takes true or false, not '${raw}'`);
  }
  const { parameter, definition } = context;
  return {
    kind: 'missing',
    parameter,
    code: definition.code,
    type: definition.type,
    missing: raw === 'true',
  };
}

/** `system|code`, `|code`, `system|`, `code` (search.html#token). */
export function tokenValue(parameter: string, value: string): TokenValue {
  const [first = '', second, ...more] = splitUnescaped(value, '|');
  if (more.length > 0) throw malformed(parameter, `Token '${value}' of '${parameter}' has more than one '|'`);
  if (second === undefined) return { code: unescapeSearchValue(first) };
  const system = unescapeSearchValue(first);
  const code = unescapeSearchValue(second);
  if (system.length === 0 && code.length === 0) {
    throw malformed(parameter, `Search parameter '${parameter}' has an empty token '|'`);
  }
  if (system.length === 0) return { system: null, code };
  return code.length === 0 ? { system } : { system, code };
}

/** `system|code|value` of `:of-type` (search.html#modifiers): all three parts are required. */
function ofTypeValue(parameter: string, value: string): IdentifierOfTypeValue {
  const parts = splitUnescaped(value, '|').map(unescapeSearchValue);
  const [system = '', code = '', identifier = ''] = parts;
  if (parts.length !== 3 || system === '' || code === '' || identifier === '') {
    throw malformed(
      parameter,
      `':of-type' takes system|code|value (the identifier type's system and code, then the value), not '${value}'`,
    );
  }
  return { system, code, value: identifier };
}

const ABSOLUTE_REFERENCE =
  /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^?#]*\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const RELATIVE_REFERENCE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

function referenceFilter(context: FilterContext, values: string[]): SearchFilter {
  const { parameter, definition, modifier } = context;
  const code = definition.code;
  if (modifier === 'identifier') {
    return {
      kind: 'reference-identifier',
      parameter,
      code,
      values: values.map((value) => tokenValue(parameter, value)),
    };
  }
  if (modifier !== undefined && !definition.targets.includes(modifier)) {
    throw unsupported(parameter, `'${modifier}' is not a target type of reference parameter '${code}'`);
  }
  return {
    kind: 'reference',
    parameter,
    code,
    values: values.map((raw) => referenceValue(context, unescapeSearchValue(raw))),
  };
}

function referenceValue(context: FilterContext, value: string): ReferenceValue {
  const { parameter, modifier, isResourceType } = context;
  const absolute = ABSOLUTE_REFERENCE.exec(value);
  const relative = absolute ?? RELATIVE_REFERENCE.exec(value);
  const type = relative?.[1];
  const id = relative?.[2];
  if (type !== undefined && id !== undefined && isResourceType(type)) {
    if (modifier !== undefined && modifier !== type) {
      throw malformed(parameter, `'${value}' is not a ${modifier} reference`);
    }
    return { type, id, ...(absolute ? { url: value } : {}) };
  }
  if (ID.test(value)) return { ...(modifier !== undefined ? { type: modifier } : {}), id: value };
  throw malformed(
    parameter,
    `'${value}' is not a reference (Type/id, id or an absolute URL ending in Type/id)`,
  );
}
