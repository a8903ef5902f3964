/**
 * Where a resource holds Attachment elements (http://hl7.org/fhir/R4/datatypes.html#Attachment),
 * found by type as the structure validator walks (definitions index `nodes`), not by the name
 * `data`: `SampledData.data` is decimals and `Signature.data` belongs to the signature. The walk
 * covers every element of type Attachment, `valueAttachment` of extensions at any depth (primitive
 * `_x` siblings included) and the resources inside a resource (`contained`, `Bundle.entry.resource`,
 * `Parameters.parameter.resource`). Paths are FHIRPath-like (`DocumentReference.content[0].attachment`),
 * the same as `blobReferenceHolders` builds, so the two can be compared.
 */
import type { DefinitionsIndex } from '../definitions/definitions-index.ts';
import type { NodeSchema } from '../definitions/element-schema.ts';
import { r4DefinitionsIndex } from '../definitions/r4-definitions.ts';
import { isRecord } from '../resource.ts';

/** Far deeper than any real resource; keeps the walk off the stack limit (as structure.ts). */
const MAX_DEPTH = 128;

/** Replaces an Attachment (or keeps it, by returning it); `path` locates it. */
export type AttachmentMapper = (attachment: Record<string, unknown>, path: string) => Record<string, unknown>;

/**
 * `resource` with each Attachment replaced by what `map` returns for it, inner ones first. Objects
 * on the way to a replaced Attachment are copied; everything else, and `resource` itself when
 * nothing changes, is returned as it is: the input is never modified.
 */
export function mapAttachments<T extends Record<string, unknown>>(
  resource: T,
  map: AttachmentMapper,
  definitions: DefinitionsIndex = r4DefinitionsIndex(),
): T | Record<string, unknown> {
  const type = resource.resourceType;
  const node = typeof type === 'string' ? definitions.nodes.get(type) : undefined;
  if (node === undefined || typeof type !== 'string') return resource;
  return new AttachmentWalk(definitions, map).object(resource, node, type, 0);
}

/** Every Attachment of `resource` with its path, inner ones first. */
export function attachmentsOf(
  resource: Record<string, unknown>,
  definitions: DefinitionsIndex = r4DefinitionsIndex(),
): { attachment: Record<string, unknown>; path: string }[] {
  const found: { attachment: Record<string, unknown>; path: string }[] = [];
  mapAttachments(
    resource,
    (attachment, path) => {
      found.push({ attachment, path });
      return attachment;
    },
    definitions,
  );
  return found;
}

class AttachmentWalk {
  private readonly elementNode: NodeSchema | undefined;
  private readonly attachmentNode: NodeSchema | undefined;

  constructor(
    private readonly definitions: DefinitionsIndex,
    private readonly map: AttachmentMapper,
  ) {
    this.elementNode = definitions.nodes.get('Element');
    this.attachmentNode = definitions.nodes.get('Attachment');
  }

  object(
    value: Record<string, unknown>,
    node: NodeSchema,
    path: string,
    depth: number,
  ): Record<string, unknown> {
    if (depth > MAX_DEPTH) return value;
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(value)) {
      const child = value[key];
      if (child === undefined || child === null || typeof child !== 'object') continue;
      const mapped =
        key.charCodeAt(0) === 0x5f
          ? this.each(child, `${path}.${key}`, (item, at) =>
              this.elementNode === undefined ? item : this.object(item, this.elementNode, at, depth + 1),
            )
          : this.property(child, node, key, `${path}.${key}`, depth);
      if (mapped !== child) {
        copy ??= { ...value };
        copy[key] = mapped;
      }
    }
    return copy ?? value;
  }

  private property(child: object, node: NodeSchema, key: string, path: string, depth: number): unknown {
    const property = node.properties.get(key);
    if (property === undefined) return child;
    const type = property.type;
    if (type === 'Attachment') {
      return this.each(child, path, (item, at) => {
        const inner =
          this.attachmentNode === undefined ? item : this.object(item, this.attachmentNode, at, depth + 1);
        return this.map(inner, at);
      });
    }
    if (this.definitions.primitives.has(type)) return child;
    if (this.definitions.types.get(type)?.kind === 'resource') {
      return this.each(child, path, (item, at) => {
        const resourceType = item.resourceType;
        const resourceNode =
          typeof resourceType === 'string' ? this.definitions.nodes.get(resourceType) : undefined;
        return resourceNode === undefined ? item : this.object(item, resourceNode, at, depth + 1);
      });
    }
    const contentNode = this.definitions.nodes.get(property.contentPath);
    if (contentNode === undefined) return child;
    return this.each(child, path, (item, at) => this.object(item, contentNode, at, depth + 1));
  }

  /** Applies `visit` to the object, or to each object of the array (`path[i]`), copying on change. */
  private each(
    child: object,
    path: string,
    visit: (item: Record<string, unknown>, at: string) => Record<string, unknown>,
  ): unknown {
    if (!Array.isArray(child)) return isRecord(child) ? visit(child, path) : child;
    let copy: unknown[] | undefined;
    child.forEach((item: unknown, index) => {
      if (!isRecord(item)) return;
      const mapped = visit(item, `${path}[${index}]`);
      if (mapped !== item) {
        copy ??= [...child];
        copy[index] = mapped;
      }
    });
    return copy ?? child;
  }
}

/**
 * The cheap, untyped question asked of every write before the typed walk: could this resource
 * hold Attachment content or a blob reference at all — is there a string member `data`, or a
 * `_data` member, anywhere? Most resources have neither and pay one pass over their objects.
 */
export function mayHoldAttachmentData(value: unknown, depth = 0): boolean {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((item) => mayHoldAttachmentData(item, depth + 1));
  for (const key in value) {
    const child: unknown = Reflect.get(value, key);
    if (key === 'data' ? typeof child === 'string' : key === '_data') return true;
    if (child !== null && typeof child === 'object' && mayHoldAttachmentData(child, depth + 1)) return true;
  }
  return false;
}
