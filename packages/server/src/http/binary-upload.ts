/**
 * Raw Binary uploads (http://hl7.org/fhir/R4/http.html#binary): `POST [base]/Binary` or
 * `PUT [base]/Binary/{id}` with a non-FHIR Content-Type stores the body as the content of a
 * Binary resource with that `contentType`. Every other body must be FHIR JSON.
 */

const BINARY_PATH = /^\/fhir\/Binary(?:\/([A-Za-z0-9\-.]{1,64}))?\/?(?:\?.*)?$/;

/** Whether a request with a non-FHIR body is a raw Binary upload. */
export function isRawBinaryUpload(method: string, url: string): boolean {
  const match = BINARY_PATH.exec(url);
  if (match === null) return false;
  return (method === 'POST' && match[1] === undefined) || (method === 'PUT' && match[1] !== undefined);
}

/** The Binary resource a raw upload stands for. */
export function rawBinaryResource(
  url: string,
  contentType: string | undefined,
  body: Buffer,
): Record<string, unknown> {
  const id = BINARY_PATH.exec(url)?.[1];
  return {
    resourceType: 'Binary',
    ...(id !== undefined ? { id } : {}),
    contentType: contentType?.split(';')[0]?.trim() || 'application/octet-stream',
    data: body.toString('base64'),
  };
}
