/**
 * The StructureDefinitions the validator knows, by canonical URL: the R4 core types, resources,
 * profiles and extensions, plus whatever the exchange loads (an IG package, a profile stored
 * through the API). Each is compiled on first use and the compiled form is kept until the
 * definition is replaced, so the hot path never compiles.
 */
import { type CompiledProfile, compileProfile } from './compiled-profile.ts';
import { type ProfileDefinition, readProfileDefinition } from './profile-definition.ts';

export const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

function withoutVersion(url: string): string {
  const bar = url.indexOf('|');
  return bar < 0 ? url : url.slice(0, bar);
}

export class ProfileRegistry {
  private readonly definitions = new Map<string, ProfileDefinition>();
  private readonly compiled = new Map<string, CompiledProfile>();
  private readonly bases = new Map<string, CompiledProfile | null>();

  constructor(definitions: Iterable<ProfileDefinition> = []) {
    for (const definition of definitions) this.add(definition);
  }

  /** Adds or replaces a definition (the latest added wins for its URL). */
  add(definition: ProfileDefinition): void {
    this.definitions.set(definition.url, definition);
    if (definition.version !== undefined) {
      this.definitions.set(`${definition.url}|${definition.version}`, definition);
    }
    this.compiled.delete(definition.url);
    this.bases.clear();
  }

  /** Adds a StructureDefinition resource; false when it has no snapshot (a differential alone cannot be validated against). */
  addResource(resource: unknown): boolean {
    const definition = readProfileDefinition(resource);
    if (definition === undefined) return false;
    this.add(definition);
    return true;
  }

  remove(url: string): void {
    const definition = this.definitions.get(url);
    this.definitions.delete(url);
    if (definition?.version !== undefined) this.definitions.delete(`${url}|${definition.version}`);
    this.compiled.delete(url);
    this.bases.clear();
  }

  has(url: string): boolean {
    return this.definition(url) !== undefined;
  }

  definition(url: string): ProfileDefinition | undefined {
    return this.definitions.get(url) ?? this.definitions.get(withoutVersion(url));
  }

  /** The compiled profile for a canonical URL (`|version` accepted), compiled once. */
  profile(url: string): CompiledProfile | undefined {
    const definition = this.definition(url);
    if (definition === undefined) return undefined;
    let compiled = this.compiled.get(definition.url);
    if (compiled === undefined || compiled.definition !== definition) {
      compiled = compileProfile(definition);
      this.compiled.set(definition.url, compiled);
    }
    return compiled;
  }

  /** The base definition of a type: `Patient`, `HumanName`, `string`. */
  baseProfile(type: string): CompiledProfile | undefined {
    // Looked up for every element the walk visits: keep the answer per type name.
    let found = this.bases.get(type);
    if (found === undefined) {
      found = this.profile(CORE_PREFIX + type) ?? null;
      this.bases.set(type, found);
    }
    return found ?? undefined;
  }

  get size(): number {
    return this.compiled.size;
  }

  urls(): string[] {
    return [...new Set([...this.definitions.values()].map((d) => d.url))];
  }
}
