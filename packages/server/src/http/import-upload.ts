/**
 * NDJSON bodies of `POST /fhir/$import` (fhir/bulk-import.ts): streamed to a file under the data
 * directory as they arrive (import/import-uploads.ts), never parsed in memory, limited by
 * `CONCORDIA_IMPORT_MAX_UPLOAD_BYTES` instead of the JSON body limit. The core receives an
 * `UploadedBody`. Any other URL refuses these media types (415), and an upload whose request
 * does not end in a queued job (202) is deleted at once.
 */

import type { IncomingMessage } from 'node:http';
import { fhirError } from '@concordia/fhir';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UploadedBody } from '../fhir/uploaded-body.ts';
import { type ImportUploads, UploadTooLarge } from '../import/import-uploads.ts';

export const NDJSON_TYPES = ['application/fhir+ndjson', 'application/ndjson', 'application/x-ndjson'];

/**
 * `mayStore`: whether the sender may have its upload written to disk at all. A request without
 * valid credentials is refused by the core whatever it sends (401); its body is left unread, so
 * nobody can fill the disk without a token.
 */
export function acceptImportUploads(
  app: FastifyInstance,
  uploads: ImportUploads,
  mayStore: (request: FastifyRequest) => boolean,
): void {
  app.addContentTypeParser(NDJSON_TYPES, async (request: FastifyRequest, payload: IncomingMessage) => {
    const mediaType = (request.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    if (request.method !== 'POST' || !isImportPath(request)) {
      throw fhirError(
        'unsupported-media-type',
        'not-supported',
        `${mediaType} is accepted only by POST $import; send application/fhir+json`,
      );
    }
    if (!mayStore(request)) return undefined;
    const declared = Number(request.headers['content-length']);
    try {
      if (declared > uploads.maxBytes) throw new UploadTooLarge(uploads.maxBytes);
      const saved = await uploads.saveStream(payload);
      return new UploadedBody(saved.path, saved.bytes, mediaType);
    } catch (error) {
      if (!(error instanceof UploadTooLarge)) throw error;
      throw fhirError('too-large', 'too-costly', `${error.message} (CONCORDIA_IMPORT_MAX_UPLOAD_BYTES)`);
    }
  });
}

/** Deletes an upload that no job took over (the request failed); the job deletes the others. */
export async function discardUnclaimedUpload(
  uploads: ImportUploads,
  body: unknown,
  status: number | undefined,
): Promise<void> {
  if (body instanceof UploadedBody && status !== 202) await uploads.remove(body.path);
}

function isImportPath(request: FastifyRequest): boolean {
  const params = request.params;
  const wildcard = typeof params === 'object' && params !== null && '*' in params ? params['*'] : '';
  if (typeof wildcard !== 'string') return false;
  try {
    return decodeURIComponent(wildcard).replace(/\/+$/, '') === '$import';
  } catch {
    return false;
  }
}
