/**
 * The FHIR REST door (http://hl7.org/fhir/R4/http.html): turns HTTP into `FhirRequest`s for the
 * transport-neutral core and `FhirResponse`s back into HTTP. It is an encapsulated Fastify plugin:
 * its JSON parsers and its OperationOutcome error handler apply under /fhir only.
 */
import { FhirError, fhirError, type OperationOutcome, operationOutcome } from '@concordia/fhir';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type Authentication,
  type Authenticator,
  bearerAuthenticator,
  bearerChallenge,
} from '../access/authenticate.ts';
import { purposeOfUse } from '../access/break-the-glass.ts';
import type { Principal, RequestContext } from '../access/request-context.ts';
import type { Config } from '../config.ts';
import type {
  FhirCore,
  FhirMethod,
  FhirRequest,
  FhirRequestHeaders,
  FhirResponse,
} from '../fhir/interaction.ts';
import { importUploads } from '../import/import-uploads.ts';
import type { Metrics } from '../ops/metrics.ts';
import { isRawBinaryUpload, rawBinaryResource } from './binary-upload.ts';
import { FHIR_JSON, REQUEST_JSON_TYPES, responseContentType } from './content-negotiation.ts';
import { acceptImportUploads, discardUnclaimedUpload } from './import-upload.ts';
import { type RequestThrottle, sendThrottled, subjectOf } from './rate-limit.ts';

export interface FhirDoorOptions {
  core: FhirCore;
  config: Config;
  metrics: Metrics;
  /** Who sent a request (access/authenticate.ts); default: no tokens, per `config.authMode`. */
  authenticate?: Authenticator;
  /** Request budgets (http/rate-limit.ts); absent: `CONCORDIA_RATE_LIMIT=off`. */
  throttle?: RequestThrottle;
}

const METHODS: FhirMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

const FORM_TYPE = 'application/x-www-form-urlencoded';

/** A form body, kept apart from JSON bodies so only `_search` can take it. */
class SearchForm {
  readonly pairs: [string, string][];
  constructor(text: string) {
    this.pairs = [...new URLSearchParams(text)];
  }
}

export async function fhirDoor(app: FastifyInstance, options: FhirDoorOptions): Promise<void> {
  const { core, metrics, throttle } = options;
  const authenticate = options.authenticate ?? bearerAuthenticator(options.config.authMode, undefined);
  const realm = `${options.config.baseUrl}/fhir`;

  // The token is verified before the body is read: the request is counted against its client and
  // user (or its address) first, so an over-budget client's body is never parsed.
  const authentications = new WeakMap<FastifyRequest, Authentication>();
  app.addHook('onRequest', async (request, reply) => {
    const authentication = await authenticate(headerText(request.headers.authorization));
    authentications.set(request, authentication);
    if (throttle === undefined) return;
    const principal = authentication.ok ? authentication.principal : undefined;
    const throttled = await throttle.check(request, 'api', subjectOf(principal, request.ip));
    if (throttled === undefined) return;
    metrics.observeInteraction('unknown', 429, elapsedSeconds(reply));
    return sendThrottled(reply, request.url, throttled);
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(REQUEST_JSON_TYPES, { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      done(fhirError('invalid', 'structure', `The body is not valid JSON: ${reason}`), undefined);
    }
  });
  const uploads = importUploads(options.config.dataDir, options.config.importMaxUploadBytes);
  // Requests whose body was left unread: their connection is closed after the answer, or Node
  // would read (and discard) the rest of the upload first.
  const unread = new WeakSet<FastifyRequest>();
  acceptImportUploads(app, uploads, (request) => {
    const principal = authenticatedPrincipal(authentications.get(request));
    if (principal !== undefined && principal.kind !== 'anonymous') return true;
    unread.add(request);
    return false;
  });
  // `POST [type]/_search` sends its parameters as a form (http.html#search); they join the URL's.
  app.addContentTypeParser(FORM_TYPE, { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    done(null, new SearchForm(text));
  });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    if (isRawBinaryUpload(request.method, request.url)) {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      return done(null, rawBinaryResource(request.url, request.headers['content-type'], bytes));
    }
    done(
      fhirError(
        'unsupported-media-type',
        'not-supported',
        `Content-Type ${request.headers['content-type'] ?? '(none)'} is not supported; send application/fhir+json`,
      ),
      undefined,
    );
  });

  app.setErrorHandler((error: FastifyError | FhirError, request, reply) => {
    const failure = asFhirError(error, request, options.config.maxBodyBytes);
    metrics.observeInteraction('unknown', failure.status, elapsedSeconds(reply));
    return sendOutcome(reply, failure.status, failure.toOperationOutcome());
  });
  app.setNotFoundHandler((request, reply) =>
    sendOutcome(
      reply,
      404,
      operationOutcome([
        { severity: 'error', code: 'not-found', diagnostics: `No FHIR endpoint at ${request.url}` },
      ]),
    ),
  );

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const query = queryPairs(request.url);
    const negotiated = negotiate(lastValue(query, '_format'), request.headers.accept);
    // A read-only request may ask for a type only some answers have (`Accept:
    // application/fhir+ndjson` on a bulk export file): the answer decides. Anything else is refused
    // before it runs.
    if (negotiated instanceof FhirError && request.method !== 'GET' && request.method !== 'HEAD')
      throw negotiated;
    const fhirRequest = toFhirRequest(request, query);
    const authentication =
      authentications.get(request) ?? (await authenticate(headerText(request.headers.authorization)));
    // Bad credentials are refused by the core (authorize-interaction.ts), which audits the refusal.
    const authenticated: Extract<Authentication, { ok: true }> = authentication.ok
      ? authentication
      : {
          ok: true,
          principal: {
            kind: 'anonymous',
            rejected: { error: authentication.error, description: authentication.description },
          },
        };
    let response: FhirResponse | undefined;
    try {
      response = await core.handle(requestContext(request, authenticated), fhirRequest);
    } finally {
      await discardUnclaimedUpload(uploads, request.body, response?.status);
    }
    const ownType =
      response.stream !== undefined ||
      (response.body?.kind === 'json' && response.body.contentType !== undefined);
    // An error is answered as an OperationOutcome whatever the Accept header asked for.
    if (negotiated instanceof FhirError && !ownType && response.status < 400) {
      response.stream?.stream.destroy();
      throw negotiated;
    }
    const contentType = negotiated instanceof FhirError ? FHIR_JSON : negotiated;
    if (unread.has(request)) reply.header('connection', 'close');
    metrics.observeInteraction(response.interaction, response.status, elapsedSeconds(reply));
    // RFC 6750 §3: a request without credentials learns how to authenticate.
    if (response.status === 401)
      reply.header(
        'www-authenticate',
        bearerChallenge(realm, authentication.ok ? undefined : authentication),
      );
    return sendResponse(
      reply,
      response,
      contentType,
      request.method === 'HEAD',
      lastValue(query, '_pretty') === 'true',
    );
  };
  app.route({ method: METHODS, url: '/', handler });
  app.route({ method: METHODS, url: '/*', handler });
}

function authenticatedPrincipal(authentication: Authentication | undefined): Principal | undefined {
  return authentication?.ok === true ? authentication.principal : undefined;
}

function toFhirRequest(request: FastifyRequest, query: [string, string][]): FhirRequest {
  const params = request.params;
  const wildcard = typeof params === 'object' && params !== null && '*' in params ? params['*'] : '';
  const method = METHODS.find((m) => m === request.method) ?? 'GET';
  const raw = request.headers;
  const headers: FhirRequestHeaders = {};
  const ifMatch = headerText(raw['if-match']);
  if (ifMatch !== undefined) headers.ifMatch = ifMatch;
  const ifNoneMatch = headerText(raw['if-none-match']);
  if (ifNoneMatch !== undefined) headers.ifNoneMatch = ifNoneMatch;
  const ifModifiedSince = headerText(raw['if-modified-since']);
  if (ifModifiedSince !== undefined) headers.ifModifiedSince = ifModifiedSince;
  const ifNoneExist = headerText(raw['if-none-exist']);
  if (ifNoneExist !== undefined) headers.ifNoneExist = ifNoneExist;
  const prefer = headerText(raw.prefer);
  if (prefer !== undefined) headers.prefer = prefer;
  const contentType = headerText(raw['content-type']);
  if (contentType !== undefined) headers.contentType = contentType;
  const accept = headerText(raw.accept);
  if (accept !== undefined) headers.accept = accept;
  const provenance = headerText(raw['x-provenance']);
  if (provenance !== undefined) headers.provenance = provenance;
  const path = decodePath(typeof wildcard === 'string' ? wildcard : '');
  if (request.body instanceof SearchForm) {
    if (method !== 'POST' || !(path === '_search' || path.endsWith('/_search'))) {
      throw fhirError(
        'unsupported-media-type',
        'not-supported',
        `${FORM_TYPE} is accepted only by POST …/_search; send application/fhir+json`,
      );
    }
    return { method, path, query: [...query, ...request.body.pairs], headers };
  }
  return {
    method,
    path,
    query,
    headers,
    ...(request.body !== undefined ? { body: request.body } : {}),
  };
}

function requestContext(
  request: FastifyRequest,
  authentication: Extract<Authentication, { ok: true }>,
): RequestContext {
  const userAgent = request.headers['user-agent'];
  return {
    principal: authentication.principal,
    ...(authentication.clientId !== undefined ? { clientId: authentication.clientId } : {}),
    ...purposeOfUse(request.headers),
    sourceIp: request.ip,
    requestId: String(request.id),
    ...(userAgent !== undefined ? { userAgent } : {}),
  };
}

function sendResponse(
  reply: FastifyReply,
  response: FhirResponse,
  contentType: string,
  head: boolean,
  pretty: boolean,
) {
  reply.code(response.status);
  const { headers } = response;
  if (headers?.etag !== undefined) reply.header('etag', headers.etag);
  if (headers?.lastModified !== undefined) reply.header('last-modified', headers.lastModified);
  if (headers?.location !== undefined) reply.header('location', headers.location);
  if (headers?.contentLocation !== undefined) reply.header('content-location', headers.contentLocation);
  if (headers?.retryAfter !== undefined) reply.header('retry-after', String(headers.retryAfter));
  if (headers?.progress !== undefined) reply.header('x-progress', headers.progress);
  if (headers?.expires !== undefined) reply.header('expires', headers.expires);
  if (response.stream !== undefined) {
    reply.header('content-type', response.stream.contentType);
    if (!head) return reply.send(response.stream.stream);
    response.stream.stream.destroy();
    return reply.send();
  }
  const body = response.body;
  if (body === undefined || response.status === 304 || response.status === 204) return reply.send();
  const type = body.kind === 'json' ? (body.contentType ?? contentType) : contentType;
  reply.header('content-type', `${type}; charset=utf-8`);
  if (head) return reply.send();
  if (body.kind === 'json')
    return reply.send(pretty ? JSON.stringify(JSON.parse(body.json), null, 2) : body.json);
  return reply.send(JSON.stringify(body.resource, null, pretty ? 2 : undefined));
}

function sendOutcome(reply: FastifyReply, status: number, outcome: OperationOutcome) {
  return reply
    .code(status)
    .header('content-type', `${FHIR_JSON}; charset=utf-8`)
    .send(JSON.stringify(outcome));
}

/** Fastify's own errors (body too large, bad media type, …) become the matching FHIR failures. */
function asFhirError(
  error: FastifyError | FhirError,
  request: FastifyRequest,
  maxBodyBytes: number,
): FhirError {
  if (error instanceof FhirError) return error;
  switch (error.code) {
    // JSON and raw Binary bodies share the server's limit; `$import` uploads answer their own.
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return fhirError(
        'too-large',
        'too-costly',
        `The request body exceeds the limit of ${maxBodyBytes} bytes (CONCORDIA_MAX_BODY_BYTES)`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return fhirError('unsupported-media-type', 'not-supported', error.message);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return fhirError('invalid', 'required', 'The request body is empty');
    default:
      break;
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return fhirError('invalid', 'invalid', error.message);
  }
  request.log.error({ err: error }, 'unhandled error in the FHIR door');
  return fhirError(
    'internal',
    'exception',
    `Internal server error; quote request id ${String(request.id)} when reporting it`,
  );
}

/** The negotiated response type, or the 406 to answer when no FHIR answer can be sent. */
function negotiate(format: string | undefined, accept: string | undefined): string | FhirError {
  try {
    return responseContentType(format, accept);
  } catch (error) {
    if (error instanceof FhirError) return error;
    throw error;
  }
}

function queryPairs(url: string): [string, string][] {
  const questionMark = url.indexOf('?');
  return questionMark === -1 ? [] : [...new URLSearchParams(url.slice(questionMark + 1))];
}

function lastValue(query: [string, string][], name: string): string | undefined {
  return query.findLast(([key]) => key === name)?.[1];
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function decodePath(path: string): string {
  if (!path.includes('%') && !path.endsWith('/')) return path;
  try {
    return decodeURIComponent(path).replace(/\/+$/, '');
  } catch {
    throw fhirError('invalid', 'invalid', `The URL path is not valid percent-encoding: ${path}`);
  }
}

function elapsedSeconds(reply: FastifyReply): number {
  return reply.elapsedTime / 1000;
}
