/**
 * search — http://hl7.org/fhir/R4/http.html#search and search.html: `GET [type]?…`,
 * `POST [type]/_search`, system search `GET [base]?_type=…`, and Patient compartment search
 * `GET Patient/[id]/[type]?…` (search.html#compartments). Parameters the server does not know or
 * cannot evaluate are reported in an OperationOutcome entry by default and fail the search with
 * 400 under `Prefer: handling=strict` (search.html#errors).
 */
import { FhirError, type OutcomeIssue, parseSearch } from '@concordia/fhir';
import type { StoreSearch } from '../store/port.ts';
import type { FhirResponse } from './interaction.ts';
import type { InteractionEnv, RoutedRequest } from './interaction-env.ts';
import { preferToken } from './prefer.ts';
import { queryValue } from './query.ts';
import { CURSOR_PARAMETER, searchBundleJson } from './search-bundle.ts';
import { planSearch } from './search-plan.ts';

/** `GET [type]?…` and `POST [type]/_search`, or a system search when no type is routed. */
export function searchType(request: RoutedRequest, env: InteractionEnv): Promise<FhirResponse> {
  return answerSearch(request, env, request.resourceType, request.resourceType ?? '');
}

/** `GET Patient/[id]/[type]?…`: the router checked the path's three segments. */
export function searchCompartment(request: RoutedRequest, env: InteractionEnv): Promise<FhirResponse> {
  const [, , targetType = ''] = request.path.split('/');
  const patientId = request.id ?? '';
  return answerSearch(request, env, targetType, `Patient/${patientId}/${targetType}`, {
    type: 'Patient',
    id: patientId,
  });
}

async function answerSearch(
  request: RoutedRequest,
  env: InteractionEnv,
  resourceType: string | undefined,
  path: string,
  compartment?: { type: 'Patient'; id: string },
): Promise<FhirResponse> {
  const interaction = resourceType === undefined ? 'search-system' : 'search-type';
  const parsed = parseSearch(
    {
      ...(resourceType !== undefined ? { resourceType } : {}),
      pairs: request.query,
    },
    env.searchParameters,
  );
  const cursor = queryValue(request.query, CURSOR_PARAMETER);
  // search.html#token: `:in`, `:not-in`, `:above`, `:below` become code sets before planning.
  const query =
    env.terminologyFilters === undefined ? parsed.query : await env.terminologyFilters(env.ctx, parsed.query);
  const plan = planSearch(query, env.config, {
    ...(cursor !== undefined ? { cursor } : {}),
    ...(compartment !== undefined ? { compartment } : {}),
  });
  const issues = [...parsed.issues, ...plan.issues];
  const [firstIssue] = issues;
  if (firstIssue !== undefined && preferToken(request.headers.prefer, 'handling') === 'strict') {
    throw new FhirError('invalid', firstIssue);
  }
  const page = await env.reads.search(env.ctx, plan.store);
  const json = searchBundleJson({
    page,
    query: parsed.query,
    fhirBase: env.fhirBase,
    path,
    pairs: request.query,
    issues: [...issues.map(asWarning), ...(page.includeLimitReached ? [includeLimitIssue(plan.store)] : [])],
  });
  return { status: 200, interaction, body: { kind: 'json', json } };
}

/** search.html#include: the server may cap what it includes, and says so (`CONCORDIA_MAX_INCLUDES`). */
function includeLimitIssue(search: StoreSearch): OutcomeIssue {
  const parameter = search.includes.some((include) => !include.reverse) ? '_include' : '_revinclude';
  return {
    severity: 'warning',
    code: 'too-costly',
    diagnostics: `Only the first ${search.includeLimit} included resources are returned; the rest were left out (ask for fewer matches per page with _count)`,
    expression: [parameter],
  };
}

/** Under lenient handling an ignored parameter is a warning: the search itself succeeded. */
function asWarning(issue: OutcomeIssue): OutcomeIssue {
  return { ...issue, severity: 'warning' };
}
