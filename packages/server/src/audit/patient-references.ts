/**
 * The patients an answer is about, for BALP's entity[patient] and the patient's access report: a
 * Patient itself, and the patient a compartment member points at through its `subject`, `patient`
 * or `beneficiary` element (the elements the Patient compartment is defined on for nearly every
 * clinical type, compartmentdefinition-patient.html). A Bundle contributes the patients of its
 * entries. Reading these three elements costs a parse, never a FHIRPath evaluation.
 */
import { isRecord } from '@concordia/fhir';

const PATIENT_ELEMENTS = ['subject', 'patient', 'beneficiary'] as const;

export function patientsOfResource(resource: unknown, into: Set<string>): void {
  if (!isRecord(resource)) return;
  if (resource.resourceType === 'Patient' && typeof resource.id === 'string') {
    into.add(`Patient/${resource.id}`);
    return;
  }
  if (resource.resourceType === 'Bundle') {
    for (const entry of Array.isArray(resource.entry) ? resource.entry : []) {
      if (isRecord(entry)) patientsOfResource(entry.resource, into);
    }
    return;
  }
  for (const element of PATIENT_ELEMENTS) {
    const value = resource[element];
    const reference = isRecord(value) ? value.reference : undefined;
    if (typeof reference === 'string') {
      const patient = patientReference(reference);
      if (patient !== undefined) into.add(patient);
    }
  }
}

/** `Patient/<id>` of a reference to a Patient (relative or absolute, version dropped). */
export function patientReference(reference: string): string | undefined {
  const match = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(reference);
  return match?.[1] === undefined ? undefined : `Patient/${match[1]}`;
}

/** The patients of serialised JSON (a resource or a Bundle); nothing when it is not JSON. */
export function patientsOfJson(json: string, into: Set<string>): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return;
  }
  patientsOfResource(parsed, into);
}
