/**
 * The R4 model that fhirpath.js evaluates against (element types, choice types, type tree).
 * Both the registry (which types exist) and the indexer (typed evaluation) use it, so they agree.
 */
import type { Model } from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';

export const r4Model: Model = r4;

/** `Patient` → `DomainResource` → `Resource`: the type tree of the model. */
export class TypeHierarchy {
  constructor(private readonly parentOf: Readonly<Record<string, string>>) {}

  /** True when `type` is `ancestor` or derives from it. */
  isA(type: string, ancestor: string): boolean {
    // Bounded walk: a malformed model with a cycle must not hang a write.
    let current: string | undefined = type;
    for (let depth = 0; current !== undefined && depth < 16; depth++) {
      if (current === ancestor) return true;
      current = this.parentOf[current];
    }
    return false;
  }

  /** Every concrete or abstract type deriving from `ancestor`, `ancestor` excluded. */
  descendantsOf(ancestor: string): Set<string> {
    return new Set(
      Object.keys(this.parentOf).filter((type) => type !== ancestor && this.isA(type, ancestor)),
    );
  }
}

export const r4Types = new TypeHierarchy(r4Model.type2Parent);

/** R4 resource types (`DomainResource` itself is abstract and excluded). */
export const r4ResourceTypes: ReadonlySet<string> = new Set(
  [...r4Types.descendantsOf('Resource')].filter((type) => type !== 'DomainResource'),
);
