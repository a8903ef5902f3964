/**
 * Sealed attachments keep the record provable (docs/signatures-and-encryption.md "Attachment.data"):
 * a clinician's signature over a DiagnosticReport with `presentedForm.data` verifies at the write
 * and with `$verify-signature` later, `ledger verify` finds the log clean, and a client holding
 * only the resource as read and the log's key accepts its inclusion proof.
 */
import { type InclusionProofDocument, parseVerifierKey, verifyResourceInclusion } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/ledger/ledger-verify.ts';
import { createLedgerTestApp, type LedgerTestApp } from '../ledger/ledger-test-app.ts';
import { createSignatureTestApp, type SignatureTestApp } from '../signatures/signature-app.ts';
import { signatureProvenance } from '../signatures/signing-client.ts';
import {
  type Authority,
  intermediateAuthority,
  revocationList,
  rootAuthority,
  type SigningIdentity,
  signingIdentity,
} from '../signatures/test-pki.ts';
import { testDatabases } from '../support/databases.ts';
import { at, FHIR_JSON, json } from '../support/test-app.ts';

const REPORT = 'Histology: basal cell carcinoma, margins clear. Dr Oksana Kovalenko.';
const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

function diagnosticReport(data: string): Record<string, unknown> {
  return {
    resourceType: 'DiagnosticReport',
    status: 'final',
    code: { text: 'Histology' },
    subject: { reference: 'Patient/p1' },
    presentedForm: [{ contentType: 'text/plain', data }],
  };
}

for (const database of testDatabases()) {
  describe(`signed sealed attachments (${database.name})`, () => {
    let issuing: Authority;
    let oksana: SigningIdentity;
    let t: SignatureTestApp;

    beforeAll(async () => {
      const root = await rootAuthority();
      issuing = await intermediateAuthority(root);
      oksana = await signingIdentity(issuing, { name: 'CN=Dr Oksana Kovalenko', alg: 'ES256' });
      t = await createSignatureTestApp(
        database,
        { anchorsPem: root.certificate.toString('pem'), crlsPem: await revocationList(issuing, []) },
        { CONCORDIA_SIGNATURE_REQUIRED_TYPES: 'DiagnosticReport', CONCORDIA_MASTER_KEY: MASTER_KEY },
      );
      for (const [type, id] of [
        ['Practitioner', 'dr-oksana'],
        ['Patient', 'p1'],
      ] as const) {
        const put = await t.app.inject({
          method: 'PUT',
          url: `/fhir/${type}/${id}`,
          headers: FHIR_JSON,
          payload: { resourceType: type, id, name: [{ family: id }] },
        });
        expect(put.statusCode, put.body).toBe(201);
      }
      const registered = await t.app.inject({
        method: 'POST',
        url: '/fhir/Practitioner/dr-oksana/$register-certificate',
        headers: FHIR_JSON,
        payload: {
          resourceType: 'Parameters',
          parameter: [
            {
              name: 'certificate',
              valueString: `${oksana.certificate.toString('pem')}\n${issuing.certificate.toString('pem')}\n`,
            },
          ],
        },
      });
      expect(registered.statusCode, registered.body).toBe(200);
    }, 60_000);

    afterAll(async () => {
      await t?.close();
    });

    it('verifies the signature over presentedForm.data at the write and with $verify-signature', async () => {
      const resource = diagnosticReport(Buffer.from(REPORT).toString('base64'));
      const provenance = await signatureProvenance(resource, oksana, {
        practitioner: 'dr-oksana',
        chain: [issuing.certificate],
      });
      const created = await t.app.inject({
        method: 'POST',
        url: '/fhir/DiagnosticReport',
        headers: { ...FHIR_JSON, 'x-provenance': JSON.stringify(provenance) },
        payload: resource,
      });
      expect(created.statusCode, created.body).toBe(201);
      const id = String(json(created.body).id);
      const verified = await t.app.inject({
        method: 'GET',
        url: `/fhir/DiagnosticReport/${id}/$verify-signature`,
      });
      expect(verified.statusCode, verified.body).toBe(200);
      expect(json(verified.body)).toMatchObject({
        parameter: expect.arrayContaining([{ name: 'valid', valueBoolean: true }]),
      });

      // Signed over other bytes than those sent: refused as altered.
      const forged = await t.app.inject({
        method: 'POST',
        url: '/fhir/DiagnosticReport',
        headers: { ...FHIR_JSON, 'x-provenance': JSON.stringify(provenance) },
        payload: diagnosticReport(Buffer.from(`${REPORT} Addendum.`).toString('base64')),
      });
      expect(forged.statusCode, forged.body).toBe(422);
      expect(at(json(forged.body), 'issue', 0, 'diagnostics')).toContain("'altered'");
    });
  });

  describe(`ledger over sealed attachments (${database.name})`, () => {
    let t: LedgerTestApp;

    beforeAll(async () => {
      t = await createLedgerTestApp(database, { CONCORDIA_MASTER_KEY: MASTER_KEY });
    });

    afterAll(async () => {
      await t?.close();
    });

    it('records the stored form: ledger verify is clean and the client verifier accepts the version as read', async () => {
      const data = Buffer.from(REPORT).toString('base64');
      const created = await t.app.inject({
        method: 'POST',
        url: '/fhir/DiagnosticReport',
        headers: FHIR_JSON,
        payload: { ...diagnosticReport(data), subject: { display: 'anonymous' } },
      });
      expect(created.statusCode, created.body).toBe(201);
      const id = String(json(created.body).id);
      await t.ledger.integrate();
      expect((await verifyLedger(t.database, { signer: t.ledger.signer })).findings).toEqual([]);

      const read = json((await t.app.inject({ method: 'GET', url: `/fhir/DiagnosticReport/${id}` })).body);
      expect(at(read, 'presentedForm', 0, 'data')).toBe(data);
      const proof = await t.app.inject({
        method: 'GET',
        url: `/ledger/proof/inclusion?resource=DiagnosticReport/${id}&version=1`,
      });
      expect(proof.statusCode, proof.body).toBe(200);
      const document = JSON.parse(proof.body) as InclusionProofDocument;
      const logKey = await parseVerifierKey((await t.app.inject({ method: 'GET', url: '/ledger/key' })).body);
      const trust = { logKey, witnesses: [], quorum: 0 };
      expect(await verifyResourceInclusion(read, document, trust)).toMatchObject({ ok: true });
      const otherBytes = {
        ...read,
        presentedForm: [{ contentType: 'text/plain', data: Buffer.from(`${REPORT}!`).toString('base64') }],
      };
      expect(await verifyResourceInclusion(otherBytes, document, trust)).toMatchObject({ ok: false });
    });
  });
}
