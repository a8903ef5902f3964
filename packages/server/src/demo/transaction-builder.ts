/**
 * Collects the resources of one patient record into a FHIR transaction Bundle
 * (http://hl7.org/fhir/R4/http.html#transaction). Each new resource gets a `urn:uuid:` fullUrl and
 * the others refer to it by that URL; the core assigns the real ids and rewrites the references.
 */
import type { FhirResource, IdentifiedResource } from '@concordia/fhir';
import type { SeededRandom } from './seeded-random.ts';

export interface Reference {
  reference: string;
  display?: string;
}

interface Entry {
  fullUrl?: string;
  resource: FhirResource;
  request: { method: 'POST' | 'PUT'; url: string };
}

export class TransactionBuilder {
  private readonly entries: Entry[] = [];

  constructor(private readonly random: SeededRandom) {}

  /** Adds a resource to be created and returns the reference other entries should use. */
  create(resource: FhirResource, display?: string): Reference {
    const reference = this.reserve();
    this.createAt(reference, resource);
    return display === undefined ? reference : { ...reference, display };
  }

  /**
   * A reference for a resource added later with `createAt`, for resources that point at each
   * other (an Encounter's diagnosis and the Condition's encounter).
   */
  reserve(): Reference {
    return { reference: `urn:uuid:${this.random.uuid()}` };
  }

  createAt(reference: Reference, resource: FhirResource): void {
    this.entries.push({
      fullUrl: reference.reference,
      resource,
      request: { method: 'POST', url: resource.resourceType },
    });
  }

  /** Adds a resource with a fixed id, written with PUT so that loading it twice changes nothing. */
  put(resource: IdentifiedResource): Reference {
    const url = `${resource.resourceType}/${resource.id}`;
    // No fullUrl: it would have to be absolute (Bundle.entry.fullUrl), and nothing refers to it by that.
    this.entries.push({ resource, request: { method: 'PUT', url } });
    return { reference: url };
  }

  get size(): number {
    return this.entries.length;
  }

  bundle(): FhirResource {
    return { resourceType: 'Bundle', type: 'transaction', entry: this.entries };
  }
}
