/**
 * A request body that the door streamed to a file instead of parsing it (`$import` with
 * `Content-Type: application/fhir+ndjson`): NDJSON can be far larger than memory. Only the
 * operation that asked for it receives one; to every other interaction it is not a resource.
 */
export class UploadedBody {
  constructor(
    /** The file on the server, under the data directory's `import-uploads`. */
    readonly path: string,
    readonly bytes: number,
    readonly contentType: string,
  ) {}
}
