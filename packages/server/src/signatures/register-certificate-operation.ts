/**
 * `POST [base]/Practitioner/{id}/$register-certificate` with a Parameters `certificate`
 * (valueString: the PEM chain, leaf first) registers a signing certificate for that Practitioner
 * (certificate-registration.ts); `GET` on the same path lists the Practitioner's certificates.
 * Only administrators (and the open development principal) may call it: whoever registers a
 * certificate decides whose signature it makes.
 */
import { fhirError } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import type { FhirResponse } from '../fhir/interaction.ts';
import type { InteractionEnv, RoutedRequest } from '../fhir/interaction-env.ts';
import { type FhirOperation, operationParameters, singleParameter } from '../fhir/operations.ts';
import { registerCertificate } from './certificate-registration.ts';
import type { CertificateRegistry, RegisteredCertificate } from './certificate-registry.ts';
import type { TrustStore } from './trust-store.ts';

export const REGISTER_CERTIFICATE_DEFINITION =
  'https://concordia.example/fhir/OperationDefinition/register-certificate';

export function registerCertificateOperation(
  registry: CertificateRegistry,
  trust: TrustStore,
): FhirOperation {
  return {
    name: 'register-certificate',
    definition: REGISTER_CERTIFICATE_DEFINITION,
    instance: ['Practitioner'],
    methods: ['GET', 'POST'],
    handler: (request, env) => handle(request, env, registry, trust),
  };
}

async function handle(
  request: RoutedRequest,
  env: InteractionEnv,
  registry: CertificateRegistry,
  trust: TrustStore,
): Promise<FhirResponse> {
  assertAdministrator(env.ctx);
  const practitionerId = request.id ?? '';
  const practitioner = await env.reads.read(env.ctx, 'Practitioner', practitionerId);
  if (practitioner === undefined || practitioner.deleted) {
    throw fhirError('not-found', 'not-found', `Practitioner/${practitionerId} not found`);
  }
  if (request.method === 'GET') {
    const registered = await registry.list(practitionerId);
    return parametersResponse(200, registered);
  }
  const pem = singleParameter(operationParameters(request.query, request.body), 'certificate');
  if (pem === undefined) {
    throw fhirError('invalid', 'required', 'Send the PEM certificate chain as the parameter certificate', [
      'certificate',
    ]);
  }
  const registered = await registerCertificate(registry, trust, practitionerId, pem);
  return parametersResponse(200, [registered]);
}

function assertAdministrator(ctx: RequestContext): void {
  const { principal } = ctx;
  if (principal.kind === 'open-development' || principal.kind === 'system') return;
  if ((principal.kind === 'user' || principal.kind === 'client') && principal.roles.includes('administrator'))
    return;
  throw fhirError('forbidden', 'forbidden', 'Only administrators register signing certificates');
}

function parametersResponse(status: number, certificates: readonly RegisteredCertificate[]): FhirResponse {
  return {
    status,
    interaction: 'operation',
    body: {
      kind: 'resource',
      resource: {
        resourceType: 'Parameters',
        parameter: certificates.map((certificate) => ({
          name: 'registration',
          part: [
            { name: 'kid', valueString: certificate.thumbprint },
            {
              name: 'practitioner',
              valueReference: { reference: `Practitioner/${certificate.practitionerId}` },
            },
            { name: 'subject', valueString: certificate.subject },
            { name: 'serialNumber', valueString: certificate.serialNumber },
            { name: 'notBefore', valueInstant: certificate.notBefore },
            { name: 'notAfter', valueInstant: certificate.notAfter },
            { name: 'registeredAt', valueInstant: certificate.registeredAt },
            ...(certificate.revokedAt !== undefined
              ? [{ name: 'revokedAt', valueInstant: certificate.revokedAt }]
              : []),
          ],
        })),
      },
    },
  };
}
