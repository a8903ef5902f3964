/**
 * The reflexive transitive closure of a code system's hierarchy, computed once at load time so that
 * `is-a`, `descendant-of`, `$subsumes` and `:below`/`:above` are index lookups (migration 0010).
 * Concepts are ordinals 0…n-1; `parents[o]` lists the direct parents of concept `o`.
 */

export class HierarchyCycleError extends Error {
  override name = 'HierarchyCycleError';
}

/**
 * Every concept with all of its ancestors (itself not included), concept by concept, so the caller
 * can write them in batches as they come. Ancestor lists are memoised per concept, so a release
 * with a deep or wide hierarchy (SNOMED CT's several parents per concept) costs one pass over its
 * edges.
 */
export function* ancestorLists(
  parents: readonly (readonly number[])[],
  describe: (ordinal: number) => string = String,
): Generator<{ descendant: number; ancestors: Int32Array }> {
  const memo: (Int32Array | undefined)[] = new Array(parents.length);
  const visiting = new Uint8Array(parents.length);

  const ancestorsOf = (ordinal: number): Int32Array => {
    const known = memo[ordinal];
    if (known !== undefined) return known;
    if (visiting[ordinal] === 1) {
      throw new HierarchyCycleError(`The hierarchy has a cycle through ${describe(ordinal)}`);
    }
    visiting[ordinal] = 1;
    const direct = parents[ordinal] ?? [];
    let result: Int32Array;
    if (direct.length === 0) result = new Int32Array(0);
    else if (direct.length === 1 && direct[0] !== undefined) {
      // The common single-parent case (ICD-10, ICPC-2): the parent's list plus the parent.
      const parent = direct[0];
      const above = ancestorsOf(parent);
      result = new Int32Array(above.length + 1);
      result.set(above);
      result[above.length] = parent;
    } else {
      const union = new Set<number>();
      for (const parent of direct) {
        union.add(parent);
        for (const ancestor of ancestorsOf(parent)) union.add(ancestor);
      }
      result = Int32Array.from(union);
    }
    visiting[ordinal] = 0;
    memo[ordinal] = result;
    return result;
  };

  for (let ordinal = 0; ordinal < parents.length; ordinal += 1) {
    yield { descendant: ordinal, ancestors: ancestorsOf(ordinal) };
  }
}
