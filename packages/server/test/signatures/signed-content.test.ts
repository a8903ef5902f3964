/**
 * The bytes a clinician signs (signatures/signed-content.ts): RFC 8785 canonical JSON of the
 * resource without the elements the server assigns.
 */
import { describe, expect, it } from 'vitest';
import { signedContent } from '../../src/signatures/signed-content.ts';

const text = (resource: Record<string, unknown>): string => new TextDecoder().decode(signedContent(resource));

describe('signedContent', () => {
  it('is the RFC 8785 form: members sorted by UTF-16 code units, no whitespace, ES6 numbers', () => {
    expect(
      text({
        resourceType: 'Observation',
        valueQuantity: { value: 1.5e2, unit: 'mg' },
        status: 'final',
        é: 1,
        Z: 2,
      }),
    ).toBe(
      '{"Z":2,"resourceType":"Observation","status":"final","valueQuantity":{"unit":"mg","value":150},"é":1}',
    );
  });

  it('leaves out id, meta.versionId and meta.lastUpdated, which the server assigns', () => {
    const asSent = { resourceType: 'Condition', code: { text: 'asthma' } };
    const asStored = {
      ...asSent,
      id: 'c1',
      meta: { versionId: '3', lastUpdated: '2026-11-24T21:00:00.000Z' },
    };
    expect(text(asStored)).toBe(text(asSent));
  });

  it('keeps the rest of meta (profiles, security labels) under the signature', () => {
    const labelled = {
      resourceType: 'Condition',
      id: 'c1',
      meta: {
        versionId: '1',
        security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
      },
    };
    expect(text(labelled)).toBe(
      '{"meta":{"security":[{"code":"R","system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality"}]},"resourceType":"Condition"}',
    );
  });
});
