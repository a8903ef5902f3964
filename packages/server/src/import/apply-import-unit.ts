/**
 * Sends one import unit through the FHIR core and says what it wrote and what failed. Failures
 * carry the OperationOutcome diagnostics the core produced, so the operator sees the same message
 * an HTTP client would. A batch succeeds or fails per entry (http.html#transaction), so its
 * response Bundle is read entry by entry; a transaction is all or nothing.
 */
import { FhirError, isRecord } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import type { FhirCore, FhirResponse } from '../fhir/interaction.ts';
import type { ItemLocation } from './import-item.ts';
import type { ImportUnit } from './import-requests.ts';

export interface ImportFailure {
  location: ItemLocation;
  diagnostics: string;
}

export interface UnitResult {
  imported: number;
  failures: ImportFailure[];
}

export async function applyImportUnit(
  core: FhirCore,
  ctx: RequestContext,
  unit: ImportUnit,
): Promise<UnitResult> {
  if (unit.kind === 'rejected') return failed(unit.location, unit.reason);
  let response: FhirResponse;
  try {
    response = await core.handle(ctx, unit.request);
  } catch (error) {
    return failed(unit.location, errorDiagnostics(error));
  }
  if (response.status >= 400) return failed(unit.location, responseDiagnostics(response));
  if (unit.kind === 'resource') return { imported: 1, failures: [] };
  if (unit.bundleType === 'transaction') return { imported: unit.entryCount, failures: [] };
  return batchResult(response, unit.location, unit.entryCount);
}

function batchResult(response: FhirResponse, location: ItemLocation, entryCount: number): UnitResult {
  const bundle = responseBody(response);
  const entries = isRecord(bundle) && Array.isArray(bundle.entry) ? bundle.entry : undefined;
  // Without a response Bundle there is nothing to tell entries apart: the batch as a whole succeeded.
  if (entries === undefined) return { imported: entryCount, failures: [] };
  const result: UnitResult = { imported: 0, failures: [] };
  entries.forEach((entry: unknown, index) => {
    const answer = isRecord(entry) && isRecord(entry.response) ? entry.response : undefined;
    const status = typeof answer?.status === 'string' ? Number.parseInt(answer.status, 10) : Number.NaN;
    if (status >= 200 && status < 300) {
      result.imported += 1;
      return;
    }
    const outcome = answer?.outcome;
    const diagnostics =
      outcomeDiagnostics(outcome) ?? `entry answered ${String(answer?.status ?? 'no status')}`;
    result.failures.push({ location: { ...location, entry: index }, diagnostics });
  });
  return result;
}

function failed(location: ItemLocation, diagnostics: string): UnitResult {
  return { imported: 0, failures: [{ location, diagnostics }] };
}

function errorDiagnostics(error: unknown): string {
  if (error instanceof FhirError) return outcomeDiagnostics(error.toOperationOutcome()) ?? error.message;
  // Anything but a FhirError is a bug in the server, not in the data; say so.
  return `internal error: ${error instanceof Error ? error.message : String(error)}`;
}

function responseDiagnostics(response: FhirResponse): string {
  return outcomeDiagnostics(responseBody(response)) ?? `answered HTTP status ${response.status}`;
}

function responseBody(response: FhirResponse): unknown {
  const body = response.body;
  if (body === undefined) return undefined;
  if (body.kind === 'resource') return body.resource;
  try {
    return JSON.parse(body.json);
  } catch {
    return undefined;
  }
}

/** The issues of an OperationOutcome as one line: `error invalid: Patient.birthDate …`. */
export function outcomeDiagnostics(outcome: unknown): string | undefined {
  if (!isRecord(outcome) || outcome.resourceType !== 'OperationOutcome' || !Array.isArray(outcome.issue)) {
    return undefined;
  }
  const lines = outcome.issue.filter(isRecord).map((issue) => {
    const where = Array.isArray(issue.expression) ? ` at ${issue.expression.join(', ')}` : '';
    const text = typeof issue.diagnostics === 'string' ? issue.diagnostics : String(issue.code);
    return `${String(issue.severity)} ${String(issue.code)}${where}: ${text}`;
  });
  return lines.length > 0 ? lines.join('; ') : undefined;
}
