/**
 * `ConceptMap/$translate` — http://hl7.org/fhir/R4/conceptmap-operation-translate.html: "Translate
 * a code from one value set to another, based on the existing value set and concept maps
 * resources, and/or other additional knowledge available to the server." The map is `url`
 * (`conceptMapVersion` optional), the stored one at instance level, or — when neither is given —
 * every map from the code's system (to `targetsystem`). `reverse` translates from target to
 * source. The answer: `result` (true when a match says what the concept maps to), `message`, and
 * one `match` per mapping (equivalence, concept, source).
 */
import { fhirError } from '@concordia/fhir';
import type {
  CodingInput,
  TerminologyService,
  TranslationMatch,
} from '../../terminology/terminology-service.ts';
import type { FhirResponse } from '../interaction.ts';
import type { InteractionEnv, RoutedRequest } from '../interaction-env.ts';
import type { FhirOperation, OperationParameter } from '../operations.ts';
import { definitionUrl } from './operation-definitions.ts';
import {
  booleanParameter,
  codeableConceptParameter,
  codingParameter,
  codingValue,
  missing,
  type ParameterOut,
  parametersResponse,
  primitive,
  storedResource,
  terminologyParameters,
  versionedUrl,
} from './terminology-parameters.ts';

const UNSUPPORTED = {
  conceptMap: 'is not supported: store the ConceptMap and pass its url',
  source: 'is not supported: give the concept map by url, or the code system and targetsystem',
  target: 'is not supported: give targetsystem',
  dependency: 'is not supported: the loaded maps have no dependencies',
};

/** conceptmap-equivalence: these say the concept has no counterpart, so they are not a translation. */
const NO_TRANSLATION = new Set(['unmatched', 'disjoint']);

export function conceptMapTranslate(terminology: TerminologyService): FhirOperation {
  return {
    name: 'translate',
    definition: definitionUrl('ConceptMap-translate'),
    type: ['ConceptMap'],
    instance: ['ConceptMap'],
    methods: ['GET', 'POST'],
    handler: (request, env) => translate(request, env, terminology),
  };
}

async function translate(
  request: RoutedRequest,
  env: InteractionEnv,
  terminology: TerminologyService,
): Promise<FhirResponse> {
  const parameters = terminologyParameters('ConceptMap-translate', request, UNSUPPORTED);
  const conceptMap = await conceptMapOf(request, env, parameters);
  const targetSystem = primitive(parameters, 'targetsystem');
  const reverse = booleanParameter(parameters, 'reverse');
  const matches: TranslationMatch[] = [];
  for (const coding of codingsToTranslate(parameters)) {
    matches.push(
      ...(await terminology.translate(env.ctx, {
        coding,
        ...(conceptMap !== undefined ? { conceptMap } : {}),
        ...(targetSystem !== undefined ? { targetSystem } : {}),
        ...(reverse !== undefined ? { reverse } : {}),
      })),
    );
  }
  const result = matches.some((match) => !NO_TRANSLATION.has(match.equivalence));
  const out: ParameterOut[] = [
    { name: 'result', valueBoolean: result },
    ...(result ? [] : [{ name: 'message', valueString: noTranslationMessage(matches, targetSystem) }]),
    ...matches.map((match) => ({
      name: 'match',
      part: [
        { name: 'equivalence', valueCode: match.equivalence },
        ...(NO_TRANSLATION.has(match.equivalence) && match.concept.code === ''
          ? []
          : [{ name: 'concept', valueCoding: codingValue(match.concept) }]),
        { name: 'source', valueUri: match.source },
      ],
    })),
  ];
  return parametersResponse(out);
}

function noTranslationMessage(
  matches: readonly TranslationMatch[],
  targetSystem: string | undefined,
): string {
  const to = targetSystem !== undefined ? ` to ${targetSystem}` : '';
  return matches.length === 0
    ? `No concept map has a mapping for this concept${to}`
    : `The concept maps say the concept has no counterpart${to}`;
}

async function conceptMapOf(
  request: RoutedRequest,
  env: InteractionEnv,
  parameters: readonly OperationParameter[],
): Promise<string | undefined> {
  const url = primitive(parameters, 'url');
  const version = primitive(parameters, 'conceptMapVersion');
  if (request.id === undefined) return url === undefined ? undefined : versionedUrl(url, version);
  const stored = await storedResource(env, 'ConceptMap', request.id);
  if (typeof stored.url !== 'string') {
    throw fhirError('unprocessable', 'processing', `ConceptMap/${request.id} has no url to translate with`);
  }
  return versionedUrl(stored.url, typeof stored.version === 'string' ? stored.version : undefined);
}

/** `code` + `system` (+ `version`), `coding`, or every coding of `codeableConcept`. */
function codingsToTranslate(parameters: readonly OperationParameter[]): CodingInput[] {
  const code = primitive(parameters, 'code');
  const coding = codingParameter(parameters, 'coding');
  const concept = codeableConceptParameter(parameters, 'codeableConcept');
  const given = [code, coding, concept].filter((value) => value !== undefined).length;
  if (given === 0)
    missing('ConceptMap/$translate', 'a code (with system), coding or codeableConcept', ['code']);
  if (given > 1) {
    throw fhirError('invalid', 'invalid', 'Give only one of code, coding and codeableConcept', ['code']);
  }
  if (code !== undefined) {
    // "If a code is provided, a system must be provided" (the definition, code).
    const system =
      primitive(parameters, 'system') ?? missing('ConceptMap/$translate', 'system with code', ['system']);
    const version = primitive(parameters, 'version');
    return [{ system, code, ...(version !== undefined ? { version } : {}) }];
  }
  return coding !== undefined ? [coding] : (concept ?? []);
}
