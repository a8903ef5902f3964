/**
 * `CodeSystem/$lookup` — http://hl7.org/fhir/R4/codesystem-operation-lookup.html: "Given a code/
 * system, or a Coding, get additional details about the concept, including definition, status,
 * designations, and properties." `GET|POST CodeSystem/$lookup?system=…&code=…` (type level only:
 * the definition has `instance = false`). Unknown code or system: 404, as for a concept that
 * cannot be found (the definition leaves the error to the server; a 4xx with an OperationOutcome
 * is what operations.html#response asks for).
 */
import { fhirError } from '@concordia/fhir';
import type { CodingInput, LookupResult, TerminologyService } from '../../terminology/terminology-service.ts';
import type { FhirResponse } from '../interaction.ts';
import type { InteractionEnv, RoutedRequest } from '../interaction-env.ts';
import type { FhirOperation } from '../operations.ts';
import { definitionUrl } from './operation-definitions.ts';
import {
  codingParameter,
  codingValue,
  missing,
  type ParameterOut,
  parametersResponse,
  primitive,
  terminologyParameters,
} from './terminology-parameters.ts';

export function codeSystemLookup(terminology: TerminologyService): FhirOperation {
  return {
    name: 'lookup',
    definition: definitionUrl('CodeSystem-lookup'),
    type: ['CodeSystem'],
    methods: ['GET', 'POST'],
    handler: (request, env) => lookup(request, env, terminology),
  };
}

async function lookup(
  request: RoutedRequest,
  env: InteractionEnv,
  terminology: TerminologyService,
): Promise<FhirResponse> {
  const parameters = terminologyParameters('CodeSystem-lookup', request);
  const coding = lookupCoding(
    codingParameter(parameters, 'coding'),
    primitive(parameters, 'system'),
    primitive(parameters, 'code'),
    primitive(parameters, 'version'),
  );
  const result = await terminology.lookup(env.ctx, coding, primitive(parameters, 'date'));
  if (result === undefined) {
    throw fhirError(
      'not-found',
      'not-found',
      `Code '${coding.code}' is not known in code system ${coding.system}${coding.version !== undefined ? ` version ${coding.version}` : ''}`,
      [parameters.some((parameter) => parameter.name === 'coding') ? 'coding' : 'code'],
    );
  }
  const wanted = parameters.filter((parameter) => parameter.name === 'property').map((p) => p.value ?? '');
  return parametersResponse(lookupParameters(result, wanted, primitive(parameters, 'displayLanguage')));
}

/** `coding`, or `code` with `system` (and `version`): the definition requires one of them. */
function lookupCoding(
  coding: CodingInput | undefined,
  system: string | undefined,
  code: string | undefined,
  version: string | undefined,
): CodingInput {
  if (coding !== undefined) {
    if (code !== undefined || system !== undefined) {
      throw fhirError('invalid', 'invalid', '$lookup takes either coding or code and system, not both', [
        'coding',
      ]);
    }
    if (coding.system === undefined) missing('$lookup', 'coding.system', ['coding.system']);
    return coding;
  }
  if (code === undefined) missing('$lookup', 'a code (with system) or a coding', ['code']);
  // "If a code is provided, a system must be provided" (codesystem-operation-lookup.html, system).
  if (system === undefined) missing('$lookup', 'system with code', ['system']);
  return { system, code, ...(version !== undefined ? { version } : {}) };
}

/**
 * The output (codesystem-operation-lookup.html): name, version, display, designation, property.
 * `property` names restrict what is returned ("the server chooses" when none are named);
 * `designation`, `parent` and `child` are among the properties the spec lists.
 */
function lookupParameters(
  result: LookupResult,
  wanted: readonly string[],
  displayLanguage: string | undefined,
): ParameterOut[] {
  const returns = (property: string): boolean => wanted.length === 0 || wanted.includes(property);
  const localised =
    displayLanguage === undefined
      ? undefined
      : result.designations.find((designation) => languageMatches(designation.language, displayLanguage));
  const display = localised?.value ?? result.display ?? result.code;
  const out: ParameterOut[] = [
    { name: 'name', valueString: result.name },
    { name: 'version', valueString: result.version },
    { name: 'display', valueString: display },
  ];
  if (returns('designation')) {
    for (const designation of result.designations) {
      out.push({
        name: 'designation',
        part: [
          ...(designation.language !== undefined
            ? [{ name: 'language', valueCode: designation.language }]
            : []),
          ...(designation.use !== undefined
            ? [{ name: 'use', valueCoding: codingValue(designation.use) }]
            : []),
          { name: 'value', valueString: designation.value },
        ],
      });
    }
  }
  const property = (code: string, value: Record<string, unknown>): void => {
    if (returns(code))
      out.push({
        name: 'property',
        part: [
          { name: 'code', valueCode: code },
          { name: 'value', ...value },
        ],
      });
  };
  // Retired codes stay known; `inactive` is a property every code system has (codesystem.html#defined-props).
  property('inactive', { valueBoolean: !result.active });
  for (const parent of result.parents) property('parent', { valueCode: parent });
  for (const child of result.children) property('child', { valueCode: child });
  for (const { code, value } of result.properties) {
    const typed = propertyValue(value);
    if (typed !== undefined) property(code, typed);
  }
  return out;
}

function languageMatches(language: string | undefined, wanted: string): boolean {
  if (language === undefined) return false;
  const a = language.toLowerCase();
  const b = wanted.toLowerCase();
  return a === b || a.startsWith(`${b}-`) || b.startsWith(`${a}-`);
}

/** A concept property's value as `value[x]` (code, Coding, string, integer, boolean, dateTime, decimal). */
function propertyValue(value: unknown): Record<string, unknown> | undefined {
  if (typeof value === 'boolean') return { valueBoolean: value };
  if (typeof value === 'number')
    return Number.isInteger(value) ? { valueInteger: value } : { valueDecimal: value };
  if (typeof value === 'string') return { valueString: value };
  if (typeof value === 'object' && value !== null) {
    const record = Object.fromEntries(Object.entries(value));
    // The loader's typed form ({ type, value }) or a bare Coding.
    if (typeof record.type === 'string' && 'value' in record) {
      const inner = record.value;
      switch (record.type) {
        case 'code':
          return typeof inner === 'string' ? { valueCode: inner } : undefined;
        case 'dateTime':
          return typeof inner === 'string' ? { valueDateTime: inner } : undefined;
        case 'Coding':
          return typeof inner === 'object' && inner !== null ? { valueCoding: inner } : undefined;
        default:
          return propertyValue(inner);
      }
    }
    if (typeof record.code === 'string') return { valueCoding: record };
  }
  return undefined;
}
