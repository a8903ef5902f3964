/**
 * The transport-neutral FHIR core (DESIGN.md rule 3): a request is plain data, a response is
 * plain data, and nothing here knows HTTP. The HTTP door, transaction/batch entries, the importer
 * and (later) the HL7 and DICOM mappings all go through `FhirCore.handle`.
 */
import type { Readable } from 'node:stream';
import type { FhirResource } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';

export type FhirMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The interaction names of http://hl7.org/fhir/R4/valueset-restful-interaction.html (used in metrics and audit). */
export type InteractionName =
  | 'read'
  | 'vread'
  | 'update'
  | 'patch'
  | 'delete'
  | 'history-instance'
  | 'history-type'
  | 'history-system'
  | 'create'
  | 'search-type'
  | 'search-system'
  | 'capabilities'
  | 'transaction'
  | 'batch'
  | 'operation'
  | 'unknown';

export interface FhirRequest {
  method: FhirMethod;
  /** Path below the FHIR base without leading slash: `Patient/123/_history/2`, `metadata`, ``. */
  path: string;
  /** Query parameters in order, repeated names kept (search semantics depend on both). */
  query: [string, string][];
  headers: FhirRequestHeaders;
  /** Parsed JSON body (resource, Bundle, Parameters or JSON Patch array), if any. */
  body?: unknown;
  /**
   * Set only by the transaction processor for a create: the id it assigned up front so that
   * other entries' references can point at it. Doors never set it.
   */
  assignedId?: string;
  /**
   * Set only by the importer: an update whose content equals the stored resource (ignoring the
   * server's meta, unchanged-content.ts) writes no version and answers 200 with the current one.
   * On a transaction or batch Bundle it applies to each of its PUT entries.
   */
  skipUnchanged?: boolean;
}

export interface FhirRequestHeaders {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifNoneExist?: string;
  /** `Prefer` header, e.g. `return=minimal`, `handling=strict`. */
  prefer?: string;
  /** `Content-Type` of the body, needed to tell JSON Patch from FHIRPath Patch. */
  contentType?: string;
  /** `Accept` as sent; bulk `$export` requires it (export.html#headers). */
  accept?: string;
  /** `X-Provenance`: a Provenance to store with a create or update (provenance.html#header, x-provenance.ts). */
  provenance?: string;
}

export interface FhirResponse {
  status: number;
  interaction: InteractionName;
  /**
   * The body: a resource object, or an already serialised resource (`json`) so that reads can send
   * stored bytes without parsing and re-serialising them.
   */
  body?:
    | { kind: 'resource'; resource: FhirResource }
    /** `contentType` set: JSON that is not FHIR (a bulk export manifest), sent as that type. */
    | { kind: 'json'; json: string; contentType?: string };
  /**
   * Instead of `body`: bytes of another media type (bulk export NDJSON files), streamed as they
   * are read. Only the HTTP door sends it; other callers see a response without a body.
   */
  stream?: { contentType: string; stream: Readable };
  headers?: FhirResponseHeaders;
  /**
   * Set when the target exists but the access decision hides it (hidden-targets.ts): why, for the
   * audit, which records a denial whatever status the client was answered.
   */
  denied?: string;
}

export interface FhirResponseHeaders {
  /** Weak ETag value `W/"3"`. */
  etag?: string;
  /** RFC 7231 HTTP-date. */
  lastModified?: string;
  /** Absolute URL of the version written (`…/Patient/1/_history/3`). */
  location?: string;
  contentLocation?: string;
  /** Seconds until an asynchronous job is worth polling again (async.html, RFC 9110 Retry-After). */
  retryAfter?: number;
  /** `X-Progress` of a bulk export status: a short text such as `42% (Observation)`. */
  progress?: string;
  /** RFC 7231 HTTP-date after which a bulk export's files are gone (`Expires`). */
  expires?: string;
}

export interface FhirCore {
  handle(ctx: RequestContext, request: FhirRequest): Promise<FhirResponse>;
}
