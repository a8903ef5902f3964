/**
 * A shaped resource is incomplete, and says so: search.html#summary asks servers to tag it
 * SUBSETTED so no client mistakes it for the whole record (or sends it back as an update).
 */
import type { Coding, FhirResource } from '../resource.ts';

export const SUBSETTED_TAG: Readonly<Required<Pick<Coding, 'system' | 'code'>>> = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'SUBSETTED',
};

export function tagSubsetted(resource: FhirResource): FhirResource {
  const tags = resource.meta?.tag ?? [];
  if (tags.some((tag) => tag.system === SUBSETTED_TAG.system && tag.code === SUBSETTED_TAG.code))
    return resource;
  return { ...resource, meta: { ...resource.meta, tag: [...tags, { ...SUBSETTED_TAG }] } };
}
