/**
 * `$import`: `POST [base]/$import` loads FHIR data in bulk as a durable background job
 * (jobs/bulk-import-job.ts) and answers at once, following the asynchronous request pattern
 * (http://hl7.org/fhir/R4/async.html): 202 Accepted with `Content-Location` naming the job's
 * status (`$job?id=…`). R4 defines no such operation; the Parameters form follows the input shape
 * of the bulk-data import drafts (`input` with `type` and `url` parts).
 *
 * The data come either in the body — NDJSON (`Content-Type: application/fhir+ndjson`, streamed
 * to a file by the door) or one Bundle as FHIR JSON — or as a Parameters resource naming files
 * on the server, which must lie under `CONCORDIA_IMPORT_DIR` (import/import-directory.ts).
 */
import { fhirError, informationOutcome, isRecord } from '@concordia/fhir';
import { ImportSourceRefused, resolveImportSources } from '../import/import-directory.ts';
import type { ImportUploads } from '../import/import-uploads.ts';
import { BULK_IMPORT_JOB, type BulkImportSource, bulkImportParams } from '../jobs/bulk-import-job.ts';
import type { JobQueue } from '../jobs/job.ts';
import type { FhirResponse } from './interaction.ts';
import type { InteractionEnv, RoutedRequest } from './interaction-env.ts';
import { jobStatusUrl } from './job-status.ts';
import { type FhirOperation, type OperationParameter, operationParameters } from './operations.ts';
import { UploadedBody } from './uploaded-body.ts';

export const BULK_IMPORT_DEFINITION = 'https://concordia.example/fhir/OperationDefinition/import';

/** `inputFormat` values: what the file reader takes (by file suffix, import-file-reader.ts). */
const INPUT_FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'application/fhir+json']);

export interface BulkImportDeps {
  jobs: JobQueue;
  uploads: ImportUploads;
  /** `CONCORDIA_IMPORT_DIR`: the only directory server-side files may come from; unset: none may. */
  importDir: string | undefined;
}

export function bulkImportOperation(deps: BulkImportDeps): FhirOperation {
  return {
    name: 'import',
    definition: BULK_IMPORT_DEFINITION,
    system: true,
    methods: ['POST'],
    handler: (request, env) => bulkImport(request, env, deps),
  };
}

async function bulkImport(
  request: RoutedRequest,
  env: InteractionEnv,
  deps: BulkImportDeps,
): Promise<FhirResponse> {
  const sources = await importSources(request, deps);
  const job = await deps.jobs.enqueue(BULK_IMPORT_JOB, bulkImportParams(sources));
  const what = sources.length === 1 ? (sources[0]?.label ?? '') : `${sources.length} files`;
  return {
    status: 202,
    interaction: 'operation',
    headers: { contentLocation: jobStatusUrl(env.fhirBase, job.id) },
    body: { kind: 'resource', resource: informationOutcome(`Import of ${what} queued as job ${job.id}`) },
  };
}

async function importSources(request: RoutedRequest, deps: BulkImportDeps): Promise<BulkImportSource[]> {
  const { body } = request;
  if (body instanceof UploadedBody) {
    return [{ path: body.path, label: `upload (${body.contentType})`, upload: true }];
  }
  if (isRecord(body) && body.resourceType === 'Bundle') {
    const saved = await deps.uploads.saveJson(body);
    return [{ path: saved.path, label: 'upload (Bundle)', upload: true }];
  }
  const names = inputUrls(operationParameters(request.query, body));
  if (deps.importDir === undefined) {
    throw fhirError(
      'forbidden',
      'forbidden',
      'This server imports no server-side files (CONCORDIA_IMPORT_DIR is not set); upload the data in the body',
    );
  }
  try {
    const plan = await resolveImportSources(deps.importDir, names);
    return [...plan.first, ...plan.rest].map((path) => ({ path, label: path, upload: false }));
  } catch (error) {
    if (!(error instanceof ImportSourceRefused)) throw error;
    if (error.reason === 'outside') throw fhirError('forbidden', 'forbidden', error.message, ['input.url']);
    const code = error.reason === 'missing' ? 'not-found' : 'not-supported';
    throw fhirError('invalid', code, error.message, ['input.url']);
  }
}

/** The `input.url` values of a Parameters body; 400 for anything else it says. */
function inputUrls(parameters: readonly OperationParameter[]): string[] {
  const urls: string[] = [];
  for (const parameter of parameters) {
    switch (parameter.name) {
      case '_format':
      case '_pretty':
      case 'inputSource':
        break;
      case 'inputFormat':
        if (parameter.value === undefined || !INPUT_FORMATS.has(parameter.value)) {
          throw fhirError(
            'invalid',
            'not-supported',
            `inputFormat ${parameter.value ?? '(none)'} is not supported; use application/fhir+ndjson`,
            ['inputFormat'],
          );
        }
        break;
      case 'input':
        urls.push(inputUrl(parameter));
        break;
      default:
        throw fhirError('invalid', 'not-supported', `$import has no parameter '${parameter.name}'`, [
          parameter.name,
        ]);
    }
  }
  if (urls.length === 0) {
    throw fhirError(
      'invalid',
      'required',
      '$import needs data: an NDJSON or Bundle body, or a Parameters resource with input.url',
      ['input'],
    );
  }
  return urls;
}

function inputUrl(parameter: OperationParameter): string {
  const parts = parameter.raw?.part;
  const url = Array.isArray(parts) ? parts.filter(isRecord).find((part) => part.name === 'url') : undefined;
  const value = url === undefined ? undefined : (url.valueUrl ?? url.valueUri ?? url.valueString);
  if (typeof value !== 'string' || value === '') {
    throw fhirError('invalid', 'required', 'Every input needs a url part (valueUrl)', ['input.url']);
  }
  return value;
}
