/**
 * What a clinician's application does to sign a write: the detached JWS over the signed content
 * of the resource, wrapped in a Provenance (`signature.sigFormat` application/jose, `data` the
 * base64 of the JWS), sent in `X-Provenance` or as a transaction Bundle entry.
 */
import { type DetachedJwsHeader, signDetached } from '../../src/signatures/detached-jws.ts';
import { signedContent } from '../../src/signatures/signed-content.ts';
import type { SigningIdentity } from './test-pki.ts';

export interface SignOptions {
  practitioner: string;
  /** Intermediates to send in x5c after the leaf. */
  chain?: readonly { rawData: ArrayBuffer }[];
  /** Name the certificate by its registered kid instead of sending x5c. */
  kid?: string;
  when?: Date;
  target?: string;
}

export async function signatureProvenance(
  resource: Record<string, unknown>,
  signer: SigningIdentity,
  options: SignOptions,
): Promise<Record<string, unknown>> {
  const jws = await signDetached(
    signedContent(resource),
    signer.privateKey,
    detachedJwsHeader(signer, options),
  );
  const when = (options.when ?? new Date()).toISOString();
  return {
    resourceType: 'Provenance',
    ...(options.target !== undefined ? { target: [{ reference: options.target }] } : {}),
    recorded: when,
    agent: [{ who: { reference: `Practitioner/${options.practitioner}` } }],
    signature: [
      {
        type: [
          {
            system: 'urn:iso-astm:E1762-95:2013',
            code: '1.2.840.10065.1.12.1.1',
            display: "Author's Signature",
          },
        ],
        when,
        who: { reference: `Practitioner/${options.practitioner}` },
        sigFormat: 'application/jose',
        data: Buffer.from(jws, 'latin1').toString('base64'),
      },
    ],
  };
}

function detachedJwsHeader(signer: SigningIdentity, options: SignOptions): DetachedJwsHeader {
  if (options.kid !== undefined) return { alg: signer.alg, kid: options.kid };
  const chain = [signer.certificate, ...(options.chain ?? [])];
  return {
    alg: signer.alg,
    x5c: chain.map((certificate) => Buffer.from(certificate.rawData).toString('base64')),
  };
}
