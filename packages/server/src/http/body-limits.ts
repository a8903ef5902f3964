/**
 * Request size limits at the doors that have no answer of their own for them. Each door keeps its
 * own limit — FHIR JSON and raw Binary bodies `CONCORDIA_MAX_BODY_BYTES` (app.ts), `$import`
 * uploads `CONCORDIA_IMPORT_MAX_UPLOAD_BYTES` (http/import-upload.ts), sign-in forms 16 KiB
 * (identity/interaction-routes.ts), EHR launch requests 4 KiB (identity/ehr-launch.ts) — and the
 * FHIR door answers its own 413s (http/fhir-door.ts). Here:
 *
 * - oidc-provider reads its own bodies (token, introspection, revocation, PAR) and stops at 56 KiB,
 *   answering 400 "failed to parse the request body". A body declared larger is refused before
 *   it is handed over, with 413 and an RFC 6749 error object that says why (a chunked body that
 *   grows past the limit still gets the provider's 400);
 * - every other door's Fastify errors (a form or launch body over its limit, a bad media type)
 *   become 4xx answers in the door's language instead of Fastify's generic JSON: an RFC 6749
 *   error object under `/oauth2`, an HTML page on the sign-in pages, an OperationOutcome elsewhere.
 */
import { operationOutcome } from '@concordia/fhir';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { renderErrorPage } from '../identity/pages.ts';
import { FHIR_JSON } from './content-negotiation.ts';

/** oidc-provider's own body limit (lib/shared/selective_body.js). */
export const AUTHORIZATION_SERVER_BODY_LIMIT = 56 * 1024;

/** Paths whose bodies oidc-provider reads itself (identity/oauth-door.ts hands them over unread). */
function isProviderBody(request: FastifyRequest): boolean {
  return request.url.startsWith('/oauth2/') && !request.url.startsWith('/oauth2/interaction/');
}

export function registerBodyLimits(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!isProviderBody(request)) return;
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > AUTHORIZATION_SERVER_BODY_LIMIT) {
      return sendClientError(
        reply,
        request.url,
        413,
        `The request body exceeds the limit of ${AUTHORIZATION_SERVER_BODY_LIMIT} bytes`,
      );
    }
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'unhandled error');
      return sendClientError(
        reply,
        request.url,
        500,
        `Internal server error; quote request id ${String(request.id)} when reporting it`,
      );
    }
    // Fastify's message names no limit, and a parser's own limit is not visible from here.
    const message =
      error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'The request body is larger than this endpoint accepts'
        : error.message;
    return sendClientError(reply, request.url, status, message);
  });
}

/** A refusal in the language of the door `url` belongs to. */
function sendClientError(reply: FastifyReply, url: string, status: number, message: string): FastifyReply {
  reply.code(status);
  const error = status < 500 ? 'invalid_request' : 'server_error';
  if (url.startsWith('/oauth2/interaction/')) {
    return reply.header('content-type', 'text/html; charset=utf-8').send(renderErrorPage(error, message));
  }
  if (url.startsWith('/oauth2/')) {
    return reply
      .header('content-type', 'application/json; charset=utf-8')
      .send(JSON.stringify({ error, error_description: message }));
  }
  const code =
    status === 413 ? 'too-costly' : status === 415 ? 'not-supported' : status < 500 ? 'invalid' : 'exception';
  return reply
    .header('content-type', `${FHIR_JSON}; charset=utf-8`)
    .send(JSON.stringify(operationOutcome([{ severity: 'error', code, diagnostics: message }])));
}
