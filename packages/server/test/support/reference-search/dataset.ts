/**
 * The resources a reference search runs over, held in memory exactly as the server stored them
 * (ids assigned, references rewritten to `Type/id`, `meta.lastUpdated` set).
 */
import type { IdentifiedResource } from '@concordia/fhir';

export class ReferenceDataset {
  private readonly byKey = new Map<string, IdentifiedResource>();
  private readonly byType = new Map<string, IdentifiedResource[]>();

  constructor(resources: Iterable<IdentifiedResource>) {
    for (const resource of resources) {
      this.byKey.set(`${resource.resourceType}/${resource.id}`, resource);
      const list = this.byType.get(resource.resourceType) ?? [];
      list.push(resource);
      this.byType.set(resource.resourceType, list);
    }
  }

  get size(): number {
    return this.byKey.size;
  }

  types(): string[] {
    return [...this.byType.keys()].sort();
  }

  ofType(resourceType: string): readonly IdentifiedResource[] {
    return this.byType.get(resourceType) ?? [];
  }

  get(resourceType: string, id: string): IdentifiedResource | undefined {
    return this.byKey.get(`${resourceType}/${id}`);
  }

  /** The resource a literal reference names (references.html#literal), if it is in the set. */
  resolve(reference: string): IdentifiedResource | undefined {
    const target = literalTarget(reference);
    return target === undefined ? undefined : this.get(target.type, target.id);
  }
}

/**
 * `Patient/1`, `Patient/1/_history/2` or `http://any.base/fhir/Patient/1`: the type and id at the
 * end of a literal reference. `#contained` and `urn:` references name no stored resource.
 */
export function literalTarget(reference: string): { type: string; id: string } | undefined {
  if (reference.startsWith('#') || reference.startsWith('urn:')) return undefined;
  const parts = reference.split('/');
  const history = parts.length >= 4 && parts[parts.length - 2] === '_history' ? 2 : 0;
  const type = parts[parts.length - 2 - history];
  const id = parts[parts.length - 1 - history];
  if (type === undefined || id === undefined || !/^[A-Z][A-Za-z]+$/.test(type)) return undefined;
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) return undefined;
  return { type, id };
}
