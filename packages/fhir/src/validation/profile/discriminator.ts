/**
 * Slice discriminators (http://hl7.org/fhir/R4/profiling.html#discriminator): the restricted
 * FHIRPath of `discriminator.path` followed twice — through the data of one repeating item, and
 * through the slice's definition to find the fixed value, pattern, types or profiles it demands.
 */
import { type CompiledElement, childNamed } from './compiled-profile.ts';
import { matchesPattern } from './fixed-pattern.ts';
import type { ProfileDiscriminator } from './profile-definition.ts';
import type { ProfileRegistry } from './profile-registry.ts';

const TOKEN = /extension\('[^']*'\)|extension\("[^"]*"\)|resolve\(\)|ofType\([^)]*\)|\$this|[A-Za-z0-9_]+/g;

function tokens(path: string): string[] {
  return path.match(TOKEN) ?? [];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value found by walking the data, with the concrete type when the walk learned it. */
export interface Found {
  value: unknown;
  type?: string;
}

const REFERENCE_TYPE = /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[^/]+)?$/;

/** The resource type a Reference points at, as far as the reference itself tells. */
export function referencedType(reference: unknown): string | undefined {
  if (!isObject(reference)) return undefined;
  if (typeof reference.type === 'string') return reference.type;
  return typeof reference.reference === 'string' ? REFERENCE_TYPE.exec(reference.reference)?.[1] : undefined;
}

function quotedArgument(token: string): string {
  return token.slice(token.indexOf('(') + 2, -2);
}

function step(found: Found[], token: string): Found[] | undefined {
  if (token === '$this') return found;
  if (token === 'resolve()') {
    return found.flatMap((f) => {
      const type = referencedType(f.value);
      return type === undefined ? [] : [{ value: { resourceType: type }, type }];
    });
  }
  if (token.startsWith('ofType(')) {
    const type = token.slice(7, -1);
    return found.filter((f) => f.type === undefined || f.type === type);
  }
  if (token.startsWith('extension(')) {
    const url = quotedArgument(token);
    return found.flatMap((f) =>
      isObject(f.value) && Array.isArray(f.value.extension)
        ? f.value.extension
            .filter((e: unknown) => isObject(e) && e.url === url)
            .map((value: unknown) => ({ value }))
        : [],
    );
  }
  return found.flatMap((f): Found[] => {
    if (!isObject(f.value)) return [];
    const direct = f.value[token];
    if (direct !== undefined) return (Array.isArray(direct) ? direct : [direct]).map((value) => ({ value }));
    for (const key of Object.keys(f.value)) {
      const next = key.charCodeAt(token.length);
      if (key.length > token.length && key.startsWith(token) && next >= 0x41 && next <= 0x5a) {
        const type = key.charAt(token.length).toLowerCase() + key.slice(token.length + 1);
        const value = f.value[key];
        return (Array.isArray(value) ? value : [value]).map((v) => ({ value: v, type }));
      }
    }
    return [];
  });
}

/** The definition an element's type points into, when the element itself lists no children. */
function typeRoot(element: CompiledElement, registry: ProfileRegistry): CompiledElement | undefined {
  const type = element.definition.types[0];
  if (type === undefined) return undefined;
  const profile = type.profiles[0] !== undefined ? registry.profile(type.profiles[0]) : undefined;
  return (profile ?? registry.baseProfile(type.code))?.root;
}

function definitionStep(
  element: CompiledElement,
  token: string,
  registry: ProfileRegistry,
): CompiledElement | undefined {
  if (token === '$this' || token.startsWith('ofType(') || token === 'resolve()') return element;
  if (token.startsWith('extension(')) {
    const url = quotedArgument(token);
    const extension =
      childNamed(element, 'extension') ?? childNamed(typeRoot(element, registry) ?? element, 'extension');
    return extension?.slices.find((slice) => slice.definition.types.some((t) => t.profiles.includes(url)));
  }
  return (
    childNamed(element, token) ??
    (() => {
      const root = typeRoot(element, registry);
      return root === undefined ? undefined : childNamed(root, token);
    })()
  );
}

export interface DiscriminatorScope {
  registry: ProfileRegistry;
  /** Whether a value conforms to a profile (for `profile` discriminators). */
  conforms(value: unknown, profileUrl: string): boolean;
}

/** Does one repeating item belong to `slice` by every discriminator of the slicing? */
export function matchesSlice(
  item: Found,
  slice: CompiledElement,
  discriminators: readonly ProfileDiscriminator[],
  scope: DiscriminatorScope,
): boolean {
  return discriminators.every((discriminator) => matchesDiscriminator(item, slice, discriminator, scope));
}

/**
 * Without a fixed or pattern value on the discriminating element, the slice's own constraints
 * below it say what matches: the bp profile's `component:SystolicBP.code` fixes nothing itself
 * but requires a `coding:SBPCode` with a fixed system and code.
 */
function matchesElementTree(value: unknown, element: CompiledElement, depth = 0): boolean {
  const rule = element.definition;
  if (rule.fixed !== undefined) return matchesPattern(value, rule.fixed);
  if (rule.pattern !== undefined) return matchesPattern(value, rule.pattern);
  if (depth > 8 || !isObject(value)) return true;
  for (const child of element.children) {
    const data = value[child.name];
    const values = data === undefined ? [] : Array.isArray(data) ? data : [data];
    if (child.definition.min > 0 && values.length === 0 && !child.isChoice) return false;
    for (const slice of child.slices) {
      if (slice.definition.min > 0 && !values.some((v) => matchesElementTree(v, slice, depth + 1)))
        return false;
    }
    const constrained =
      child.definition.fixed !== undefined ||
      child.definition.pattern !== undefined ||
      child.children.length > 0;
    if (constrained && !values.every((v) => matchesElementTree(v, child, depth + 1))) return false;
  }
  return true;
}

function matchesDiscriminator(
  item: Found,
  slice: CompiledElement,
  discriminator: ProfileDiscriminator,
  scope: DiscriminatorScope,
): boolean {
  let found: Found[] | undefined = [item];
  // The element the path names, then its slices: `code.coding.code` finds its fixed value on
  // `code.coding:SBPCode.code` in the bp profile.
  let definitions: CompiledElement[] = [slice];
  for (const token of tokens(discriminator.path)) {
    found = found === undefined ? undefined : step(found, token);
    definitions = definitions.flatMap((definition) => {
      const next = definitionStep(definition, token, scope.registry);
      return next === undefined ? [] : [next, ...next.slices];
    });
  }
  const definition = definitions[0];
  if (found === undefined || definition === undefined) return false;
  const rule = definition.definition;
  switch (discriminator.type) {
    case 'value':
    case 'pattern': {
      const expected = definitions.flatMap((d) => {
        const value = d.definition.fixed ?? d.definition.pattern;
        return value === undefined ? [] : [value];
      });
      if (expected.length === 0) return found.some((f) => matchesElementTree(f.value, definition));
      return found.some((f) => expected.some((e) => matchesPattern(f.value, e)));
    }
    case 'exists':
      return rule.min > 0 ? found.length > 0 : rule.max === 0 ? found.length === 0 : true;
    case 'type': {
      const allowed = new Set(
        rule.types.flatMap((t) =>
          discriminator.path.includes('resolve()')
            ? t.targetProfiles.map((p) => p.slice(p.lastIndexOf('/') + 1))
            : [t.code],
        ),
      );
      return found.some((f) => {
        const type =
          f.type ??
          (isObject(f.value) && typeof f.value.resourceType === 'string' ? f.value.resourceType : undefined);
        return type !== undefined && allowed.has(type);
      });
    }
    case 'profile': {
      const profiles = rule.types.flatMap((t) =>
        discriminator.path.includes('resolve()') ? t.targetProfiles : t.profiles,
      );
      return found.some((f) => profiles.some((url) => scope.conforms(f.value, url)));
    }
  }
}
