/**
 * Answers already computed — expansions (valueset-operation-expand.html lets a server answer from
 * a cached expansion; `Expansion.timestamp` says when it was computed) and `$validate-code`
 * results — each remembered with the terminology revision it was computed at
 * (terminology-revision.ts). An entry is served only while that revision is current, so a new
 * load, a stored ValueSet or CodeSystem written on any node retires it. Bounded: the least
 * recently used entry goes first.
 */
export class RevisionCache<V> {
  private readonly entries = new Map<string, { revision: number; value: V }>();

  constructor(private readonly capacity: number) {}

  get(key: string, revision: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.revision !== revision) return undefined;
    // Re-inserted, so that Map order is recency order and the first key is the one to evict.
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, revision: number, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { revision, value });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
