/**
 * A stand-in for `indexResource` (a pure function) that indexes just what the contract suite
 * searches, so these tests exercise the store and not the SearchParameter definitions. Typed
 * builders for the few resources the suite writes live here too.
 */
import { type IdentifiedResource, isRecord, normalizeString, type ResourceIndex } from '@concordia/fhir';

export function fakeIndexer(resource: IdentifiedResource): ResourceIndex {
  const index: ResourceIndex = { tokens: [], strings: [], references: [], patientCompartments: [] };
  if (resource.resourceType === 'Patient') {
    index.patientCompartments.push(resource.id);
    for (const identifier of records(resource.identifier)) {
      const value = text(identifier.value);
      if (value !== undefined)
        index.tokens.push({ param: 'identifier', system: text(identifier.system) ?? null, code: value });
    }
    const gender = text(resource.gender);
    if (gender !== undefined) index.tokens.push({ param: 'gender', system: null, code: gender });
    for (const name of records(resource.name)) {
      const parts = [text(name.family), ...(Array.isArray(name.given) ? name.given.map(text) : [])];
      for (const part of parts) {
        if (part !== undefined)
          index.strings.push({ param: 'name', value: part, normalized: normalizeString(part) });
      }
    }
  }
  if (resource.resourceType === 'Observation') {
    const code = isRecord(resource.code) ? resource.code : {};
    for (const coding of records(code.coding)) {
      const value = text(coding.code);
      if (value !== undefined)
        index.tokens.push({ param: 'code', system: text(coding.system) ?? null, code: value });
    }
    const subject = isRecord(resource.subject) ? text(resource.subject.reference) : undefined;
    const [targetType, targetId] = subject?.split('/') ?? [];
    if (targetType !== undefined && targetId !== undefined) {
      index.references.push({ param: 'subject', targetType, targetId });
      if (targetType === 'Patient') index.patientCompartments.push(targetId);
    }
  }
  return index;
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function patient(
  id: string,
  options: {
    family?: string;
    given?: string[];
    identifier?: { system?: string; value: string };
    gender?: string;
  } = {},
): IdentifiedResource {
  return {
    resourceType: 'Patient',
    id,
    ...(options.identifier !== undefined ? { identifier: [options.identifier] } : {}),
    name: [{ family: options.family ?? 'Kovalenko', given: options.given ?? ['Oksana'] }],
    gender: options.gender ?? 'female',
  };
}

export function observation(
  id: string,
  subject: string,
  code = { system: 'http://loinc.org', code: '8867-4' },
) {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [code] },
    subject: { reference: subject },
  } satisfies IdentifiedResource;
}
