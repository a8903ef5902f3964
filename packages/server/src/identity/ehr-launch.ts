/**
 * SMART EHR launch (https://hl7.org/fhir/smart-app-launch/app-launch.html#launch-app-ehr-launch):
 * the EHR mints a launch for the patient (and encounter) open on its screen, then opens the app's
 * launch URL with `iss` and that `launch`. The app sends `launch` back in its authorization
 * request with the `launch` scope, and gets `patient` and `encounter` beside its access token.
 *
 *   POST /oauth2/launch   Authorization: Bearer <the EHR's access token>
 *   { "patient": "123", "encounter": "456", "client_id": "…" }   (encounter, client_id optional)
 *   → 201 { "launch": "…", "expires_in": 600, "iss": "<FHIR base>" }
 *
 * Only a caller that may read the patient and the encounter — the one access decision, with its
 * token's scopes — can mint a launch for them, so a launch never names a record its minter could
 * not see. A launch minted with a user's token is bound to that user; `client_id` binds it to one
 * app.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../access/authenticate.ts';
import type { RequestContext } from '../access/request-context.ts';
import { OAUTH_PREFIX } from './authorization-server.ts';
import type { ClientRegistry } from './clients.ts';
import { EHR_LAUNCH_SECONDS, type LaunchContexts } from './launch-context.ts';
import type { PatientDirectory } from './patient-picker.ts';

export const EHR_LAUNCH_ROUTE = `${OAUTH_PREFIX}/launch`;

export interface EhrLaunchRoutesOptions {
  authenticate: Authenticator;
  launchContexts: LaunchContexts;
  patients: PatientDirectory;
  clients: ClientRegistry;
  /** The FHIR base URL: the `iss` of the app's launch URL. */
  fhirBase: string;
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export async function ehrLaunchRoutes(app: FastifyInstance, options: EhrLaunchRoutesOptions): Promise<void> {
  const { authenticate, launchContexts, patients, clients } = options;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 4096 }, (_r, body, done) => {
    try {
      done(null, JSON.parse(typeof body === 'string' ? body : body.toString('utf8')));
    } catch {
      done(null, undefined);
    }
  });

  const problem = (reply: FastifyReply, status: number, error: string, description: string) =>
    reply.code(status).header('cache-control', 'no-store').send({ error, error_description: description });

  app.post(EHR_LAUNCH_ROUTE, async (request: FastifyRequest, reply: FastifyReply) => {
    const authorization = request.headers.authorization;
    const authentication = await authenticate(typeof authorization === 'string' ? authorization : undefined);
    if (!authentication.ok) {
      reply.header('www-authenticate', `Bearer error="${authentication.error}"`);
      return problem(reply, 401, authentication.error, authentication.description);
    }
    const { principal } = authentication;
    if (principal.kind !== 'user' && principal.kind !== 'client') {
      reply.header('www-authenticate', 'Bearer');
      return problem(reply, 401, 'invalid_token', 'Send the EHR’s access token as Authorization: Bearer');
    }
    const body = isObject(request.body) ? request.body : {};
    const patient = idOf(body.patient, 'Patient');
    const encounter = body.encounter === undefined ? undefined : idOf(body.encounter, 'Encounter');
    const clientId = typeof body.client_id === 'string' ? body.client_id : undefined;
    if (
      typeof patient !== 'string' ||
      encounter === null ||
      (body.client_id !== undefined && clientId === undefined)
    ) {
      return problem(
        reply,
        400,
        'invalid_request',
        'Send JSON {"patient": id, "encounter"?: id, "client_id"?: the app’s client id}',
      );
    }
    if (clientId !== undefined && (await clients.byId(clientId)) === undefined) {
      return problem(reply, 400, 'invalid_client', `No client ${clientId} is registered`);
    }
    const reader: RequestContext = {
      principal,
      clientId: principal.clientId,
      sourceIp: request.ip,
      requestId: String(request.id),
    };
    // 403 alike for a record that is missing and one that may not be read: neither is revealed.
    const refused = () =>
      problem(reply, 403, 'access_denied', 'The launch names a record this token may not read');
    if ((await patients.readAs(reader, 'Patient', patient)) === undefined) return refused();
    if (encounter !== undefined) {
      const visit = await patients.readAs(reader, 'Encounter', encounter);
      if (visit === undefined) return refused();
      const subject = isObject(visit.subject) ? visit.subject.reference : undefined;
      if (subject !== `Patient/${patient}`) {
        return problem(reply, 400, 'invalid_request', `Encounter/${encounter} is not Patient/${patient}’s`);
      }
    }
    const launch = await launchContexts.mint({
      patient,
      ...(encounter !== undefined ? { encounter } : {}),
      ...(clientId !== undefined ? { clientId } : {}),
      ...(principal.kind === 'user' ? { userId: principal.id } : {}),
      mintedBy: principal.id,
    });
    return reply
      .code(201)
      .header('cache-control', 'no-store')
      .send({ launch, expires_in: EHR_LAUNCH_SECONDS, iss: options.fhirBase });
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `123` or `Patient/123` → `123`; `undefined` when absent, `null` when malformed. */
function idOf(value: unknown, type: string): string | undefined | null {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return null;
  const id = value.startsWith(`${type}/`) ? value.slice(type.length + 1) : value;
  return ID.test(id) ? id : null;
}
