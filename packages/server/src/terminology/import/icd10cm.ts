/** What the ICD-10-CM importers share: the canonical URL, the header, the dotted code form. */
import type { CodeSystemHeader } from '../code-system-content.ts';

/** The URL the terminology owner specifies (THO NamingSystem icd10CM, preferred). */
export const ICD10CM_URL = 'http://hl7.org/fhir/sid/icd-10-cm';

export function icd10cmHeader(version: string): CodeSystemHeader {
  return {
    url: ICD10CM_URL,
    version,
    name: 'ICD10CM',
    title: 'International Classification of Diseases, 10th Revision, Clinical Modification',
    publisher: 'National Center for Health Statistics (NCHS), CDC',
    language: 'en',
    hierarchyMeaning: 'is-a',
    properties: [{ code: 'short-title', type: 'string', description: 'the release’s abbreviated title' }],
  };
}

/**
 * ICD-10-CM codes are exchanged with the dot after the category (`A01.00`, `S00.00XA`; the
 * FHIR ICD-10-CM page); the order file writes them without it.
 */
export function dottedIcd10cmCode(code: string): string {
  return code.length > 3 && !code.includes('.') ? `${code.slice(0, 3)}.${code.slice(3)}` : code;
}
