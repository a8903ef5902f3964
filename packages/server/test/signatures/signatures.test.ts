/**
 * Clinicians' signatures through the real FHIR door (DESIGN.md D9, issue 7): a Condition must
 * carry a detached JWS over its RFC 8785 canonical form, from a certificate registered to the
 * Practitioner who signs, valid at `signature.when`, chaining to the configured trust anchor and
 * not revoked — in `X-Provenance` or as a Provenance entry of a transaction Bundle.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateRegistry } from '../../src/signatures/certificate-registry.ts';
import { certificateThumbprint } from '../../src/signatures/signature-verifier.ts';
import type { Database } from '../../src/store/database.ts';
import { sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';
import { at, FHIR_JSON, json } from '../support/test-app.ts';
import { createSignatureTestApp, type SignatureTestApp } from './signature-app.ts';
import { signatureProvenance } from './signing-client.ts';
import {
  type Authority,
  DAY,
  intermediateAuthority,
  revocationList,
  rootAuthority,
  type SigningIdentity,
  signingIdentity,
} from './test-pki.ts';

function condition(code: string): Record<string, unknown> {
  return {
    resourceType: 'Condition',
    clinicalStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
    },
    code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code }] },
    subject: { reference: 'Patient/p1' },
    recorder: { reference: 'Practitioner/dr-oksana' },
  };
}

interface Pki {
  root: Authority;
  issuing: Authority;
  oksana: SigningIdentity;
  taras: SigningIdentity;
  expired: SigningIdentity;
  revoked: SigningIdentity;
  stranger: SigningIdentity;
  strangerIssuing: Authority;
  anchorsPem: string;
  crlsPem: string;
}

async function buildPki(): Promise<Pki> {
  const root = await rootAuthority();
  const issuing = await intermediateAuthority(root);
  const strangerRoot = await rootAuthority('CN=Unknown Root CA');
  const strangerIssuing = await intermediateAuthority(strangerRoot, 'CN=Concordia Test Issuing CA');
  const revoked = await signingIdentity(issuing, { name: 'CN=Dr Revoked' });
  return {
    root,
    issuing,
    oksana: await signingIdentity(issuing, { name: 'CN=Dr Oksana Kovalenko', alg: 'ES256' }),
    taras: await signingIdentity(issuing, { name: 'CN=Dr Taras Melnyk', alg: 'RS256' }),
    expired: await signingIdentity(issuing, {
      name: 'CN=Dr Expired',
      notBefore: new Date(Date.now() - 30 * DAY),
      notAfter: new Date(Date.now() - DAY),
    }),
    revoked,
    stranger: await signingIdentity(strangerIssuing, { name: 'CN=Dr Oksana Kovalenko' }),
    strangerIssuing,
    anchorsPem: root.certificate.toString('pem'),
    crlsPem: await revocationList(issuing, [revoked.certificate]),
  };
}

const pemChain = (identity: SigningIdentity, issuing: Authority): string =>
  `${identity.certificate.toString('pem')}\n${issuing.certificate.toString('pem')}\n`;

for (const database of testDatabases()) {
  describe(`clinicians' signatures (${database.name})`, () => {
    let pki: Pki;
    let t: SignatureTestApp;

    beforeAll(async () => {
      pki = await buildPki();
      // Registered while they were good: one has expired since, the other's CA revoked it.
      const seedRegistrations = async (db: Database): Promise<void> => {
        const registry = await createCertificateRegistry(db);
        for (const [id, identity] of [
          ['dr-expired', pki.expired],
          ['dr-revoked', pki.revoked],
        ] as const) {
          await registry.insert({
            thumbprint: certificateThumbprint(identity.certificate),
            practitionerId: id,
            certificatePem: identity.certificate.toString('pem'),
            chainPem: pki.issuing.certificate.toString('pem'),
            subject: identity.certificate.subject,
            serialNumber: identity.certificate.serialNumber,
            notBefore: identity.certificate.notBefore.toISOString(),
            notAfter: identity.certificate.notAfter.toISOString(),
          });
        }
      };
      t = await createSignatureTestApp(
        database,
        pki,
        { CONCORDIA_SIGNATURE_REQUIRED_TYPES: 'Condition,Composition' },
        seedRegistrations,
      );
      for (const id of ['dr-oksana', 'dr-taras', 'dr-expired', 'dr-revoked']) {
        const put = await t.app.inject({
          method: 'PUT',
          url: `/fhir/Practitioner/${id}`,
          headers: FHIR_JSON,
          payload: { resourceType: 'Practitioner', id, name: [{ family: id }] },
        });
        expect(put.statusCode).toBe(201);
      }
      await t.app.inject({
        method: 'PUT',
        url: '/fhir/Patient/p1',
        headers: FHIR_JSON,
        payload: { resourceType: 'Patient', id: 'p1', name: [{ family: 'Shevchenko' }] },
      });
      for (const [id, identity] of [
        ['dr-oksana', pki.oksana],
        ['dr-taras', pki.taras],
      ] as const) {
        const registered = await register(id, pemChain(identity, pki.issuing));
        expect(registered.statusCode).toBe(200);
      }
    }, 60_000);

    afterAll(async () => {
      await t?.close();
    });

    function register(practitioner: string, pem: string) {
      return t.app.inject({
        method: 'POST',
        url: `/fhir/Practitioner/${practitioner}/$register-certificate`,
        headers: FHIR_JSON,
        payload: { resourceType: 'Parameters', parameter: [{ name: 'certificate', valueString: pem }] },
      });
    }

    function createSigned(
      resource: Record<string, unknown>,
      provenance: Record<string, unknown> | undefined,
    ) {
      return t.app.inject({
        method: 'POST',
        url: '/fhir/Condition',
        headers: {
          ...FHIR_JSON,
          ...(provenance !== undefined ? { 'x-provenance': JSON.stringify(provenance) } : {}),
        },
        payload: resource,
      });
    }

    function firstIssue(body: string): { code: unknown; diagnostics: unknown; expression: unknown } {
      const outcome = json(body);
      return {
        code: at(outcome, 'issue', 0, 'code'),
        diagnostics: at(outcome, 'issue', 0, 'diagnostics'),
        expression: at(outcome, 'issue', 0, 'expression', 0),
      };
    }

    it('accepts a Condition signed with ES256 (x5c chain) and stores the signature as a Provenance of that version', async () => {
      const resource = condition('J45.0');
      const provenance = await signatureProvenance(resource, pki.oksana, {
        practitioner: 'dr-oksana',
        chain: [pki.issuing.certificate],
      });
      const response = await createSigned(resource, provenance);
      expect(response.statusCode, response.body).toBe(201);
      const id = String(json(response.body).id);
      const search = await t.app.inject({ method: 'GET', url: `/fhir/Provenance?target=Condition/${id}` });
      const entries = at(json(search.body), 'entry');
      expect(Array.isArray(entries) ? entries.length : 0).toBe(1);
      expect(at(json(search.body), 'entry', 0, 'resource', 'target', 0, 'reference')).toBe(
        `Condition/${id}/_history/1`,
      );
      expect(at(json(search.body), 'entry', 0, 'resource', 'signature', 0, 'data')).toBe(
        at(provenance, 'signature', 0, 'data'),
      );
    });

    it('accepts an update signed with RS256, the certificate named by its registered kid', async () => {
      const created = await createSigned(
        condition('I10'),
        await signatureProvenance(condition('I10'), pki.taras, {
          practitioner: 'dr-taras',
          chain: [pki.issuing.certificate],
        }),
      );
      expect(created.statusCode, created.body).toBe(201);
      const id = String(json(created.body).id);
      const updated = { ...condition('I11.9'), id };
      const provenance = await signatureProvenance(updated, pki.taras, {
        practitioner: 'dr-taras',
        kid: certificateThumbprint(pki.taras.certificate),
      });
      const response = await t.app.inject({
        method: 'PUT',
        url: `/fhir/Condition/${id}`,
        headers: { ...FHIR_JSON, 'x-provenance': JSON.stringify(provenance) },
        payload: updated,
      });
      expect(response.statusCode, response.body).toBe(200);
      expect(at(json(response.body), 'meta', 'versionId')).toBe('2');
    });

    it('refuses an unsigned Condition with 422 security, and writes nothing', async () => {
      const response = await createSigned(condition('E11.9'), undefined);
      expect(response.statusCode).toBe(422);
      const issue = firstIssue(response.body);
      expect(issue.code).toBe('security');
      expect(issue.expression).toBe('Condition');
      expect(String(issue.diagnostics)).toContain("requires a clinician's signature");
      const search = await t.app.inject({ method: 'GET', url: '/fhir/Condition?code=E11.9' });
      expect(at(json(search.body), 'entry')).toBeUndefined();
    });

    it('does not require a signature of types outside the policy', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/fhir/Observation',
        headers: FHIR_JSON,
        payload: { resourceType: 'Observation', status: 'final', code: { text: 'pulse' } },
      });
      expect(response.statusCode).toBe(201);
    });

    const refusals: [
      string,
      () => Promise<{ resource: Record<string, unknown>; provenance: Record<string, unknown> }>,
      string,
      string,
    ][] = [
      [
        'a certificate that expired before signature.when',
        async () => ({
          resource: condition('K21.0'),
          provenance: await signatureProvenance(condition('K21.0'), pki.expired, {
            practitioner: 'dr-expired',
          }),
        }),
        'expired',
        'security',
      ],
      [
        'a certificate from a CA that chains to no trust anchor',
        async () => ({
          resource: condition('K21.0'),
          provenance: await signatureProvenance(condition('K21.0'), pki.stranger, {
            practitioner: 'dr-oksana',
            chain: [pki.strangerIssuing.certificate],
          }),
        }),
        'untrusted',
        'security',
      ],
      [
        'a certificate on its CA’s revocation list',
        async () => ({
          resource: condition('K21.0'),
          provenance: await signatureProvenance(condition('K21.0'), pki.revoked, {
            practitioner: 'dr-revoked',
            chain: [pki.issuing.certificate],
          }),
        }),
        'revoked',
        'security',
      ],
      [
        'a resource altered after it was signed',
        async () => ({
          resource: condition('K21.9'),
          provenance: await signatureProvenance(condition('K21.0'), pki.oksana, {
            practitioner: 'dr-oksana',
            chain: [pki.issuing.certificate],
          }),
        }),
        'altered',
        'invalid',
      ],
      [
        'a signature.who that is not the Practitioner the certificate is registered to',
        async () => ({
          resource: condition('K21.0'),
          provenance: await signatureProvenance(condition('K21.0'), pki.oksana, {
            practitioner: 'dr-taras',
            chain: [pki.issuing.certificate],
          }),
        }),
        'wrong-signer',
        'security',
      ],
      [
        'a signature.when older than the allowed age',
        async () => ({
          resource: condition('K21.0'),
          provenance: await signatureProvenance(condition('K21.0'), pki.oksana, {
            practitioner: 'dr-oksana',
            when: new Date(Date.now() - 3 * DAY),
          }),
        }),
        'stale',
        'security',
      ],
    ];

    for (const [what, build, check, code] of refusals) {
      it(`refuses ${what} with 422 (${check})`, async () => {
        const { resource, provenance } = await build();
        const response = await createSigned(resource, provenance);
        expect(response.statusCode, response.body).toBe(422);
        const issue = firstIssue(response.body);
        expect(issue.code).toBe(code);
        expect(issue.expression).toBe('Provenance.signature[0]');
        expect(String(issue.diagnostics)).toContain(`'${check}' check`);
      });
    }

    it('refuses to register a certificate that chains to no trust anchor', async () => {
      const response = await register('dr-oksana', pemChain(pki.stranger, pki.strangerIssuing));
      expect(response.statusCode).toBe(422);
      expect(firstIssue(response.body).diagnostics).toMatch(/untrusted/);
    });

    it('lists a Practitioner’s registered certificates with their kid (GET $register-certificate)', async () => {
      const response = await t.app.inject({
        method: 'GET',
        url: '/fhir/Practitioner/dr-taras/$register-certificate',
      });
      expect(response.statusCode).toBe(200);
      expect(at(json(response.body), 'parameter', 0, 'part', 0)).toEqual({
        name: 'kid',
        valueString: certificateThumbprint(pki.taras.certificate),
      });
      expect(at(json(response.body), 'parameter', 1)).toBeUndefined();
    });

    it('answers 400 to an X-Provenance header that is not a Provenance (provenance.html#header)', async () => {
      const response = await createSigned(condition('J45.0'), { resourceType: 'Patient' });
      expect(response.statusCode).toBe(400);
      expect(firstIssue(response.body).expression).toBe('X-Provenance');
    });

    it('accepts a transaction Bundle whose Provenance entry signs a Condition entry by its fullUrl', async () => {
      const resource = condition('J20.9');
      const provenance = await signatureProvenance(resource, pki.oksana, {
        practitioner: 'dr-oksana',
        chain: [pki.issuing.certificate],
        target: 'urn:uuid:6f6a1c1e-3c0b-4d53-9a57-1f0c5a8e9b10',
      });
      const response = await t.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: FHIR_JSON,
        payload: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              fullUrl: 'urn:uuid:6f6a1c1e-3c0b-4d53-9a57-1f0c5a8e9b10',
              resource,
              request: { method: 'POST', url: 'Condition' },
            },
            {
              fullUrl: 'urn:uuid:0b7f0e43-6bd6-4a36-8d5c-4d3c2b1a0f99',
              resource: provenance,
              request: { method: 'POST', url: 'Provenance' },
            },
          ],
        },
      });
      expect(response.statusCode, response.body).toBe(200);
      const location = String(at(json(response.body), 'entry', 0, 'response', 'location'));
      const id = /Condition\/([^/]+)/.exec(location)?.[1] ?? 'none';
      const verified = await t.app.inject({ method: 'GET', url: `/fhir/Condition/${id}/$verify-signature` });
      expect(verified.statusCode, verified.body).toBe(200);
      expect(at(json(verified.body), 'parameter', 1)).toEqual({ name: 'valid', valueBoolean: true });
    });

    it('refuses a transaction Bundle with an unsigned Condition and writes none of its entries', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: FHIR_JSON,
        payload: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              resource: { resourceType: 'Patient', name: [{ family: 'Bundled' }] },
              request: { method: 'POST', url: 'Patient' },
            },
            { resource: condition('J18.9'), request: { method: 'POST', url: 'Condition' } },
          ],
        },
      });
      expect(response.statusCode).toBe(422);
      expect(firstIssue(response.body).code).toBe('security');
      const patients = await t.app.inject({ method: 'GET', url: '/fhir/Patient?family=Bundled' });
      expect(at(json(patients.body), 'entry')).toBeUndefined();
    });

    it('$verify-signature confirms a stored signature, and finds the resource altered later in SQL', async () => {
      const resource = condition('M54.5');
      const created = await createSigned(
        resource,
        await signatureProvenance(resource, pki.oksana, {
          practitioner: 'dr-oksana',
          chain: [pki.issuing.certificate],
        }),
      );
      expect(created.statusCode, created.body).toBe(201);
      const id = String(json(created.body).id);
      const before = await t.app.inject({ method: 'GET', url: `/fhir/Condition/${id}/$verify-signature` });
      expect(at(json(before.body), 'parameter', 1)).toEqual({ name: 'valid', valueBoolean: true });
      expect(at(json(before.body), 'parameter', 2, 'part', 2)).toEqual({
        name: 'signer',
        valueReference: { reference: 'Practitioner/dr-oksana' },
      });

      const tampered = created.body.replace('M54.5', 'M54.9');
      await t.database.query(
        sql`update resource set content = ${tampered} where resource_type = 'Condition' and id = ${id}`,
      );
      await t.database.query(
        sql`update resource_history set content = ${tampered} where resource_type = 'Condition' and id = ${id}`,
      );
      const after = await t.app.inject({ method: 'GET', url: `/fhir/Condition/${id}/$verify-signature` });
      const parameters = json(after.body);
      expect(at(parameters, 'parameter', 1)).toEqual({ name: 'valid', valueBoolean: false });
      expect(at(parameters, 'parameter', 2, 'part', 2)).toEqual({ name: 'check', valueCode: 'altered' });
    });
  });
}
