/**
 * Answers already computed — expansions (valueset-operation-expand.html lets a server answer from
 * a cached expansion; `Expansion.timestamp` says when it was computed) and `$validate-code`
 * results — each remembered with the terminology revision it was computed at
 * (terminology-revision.ts). An entry is served only while that revision is current, so a new
 * load, a stored ValueSet or CodeSystem written on any node retires it. Bounded: the least
 * recently used entry goes first.
 *
 * Recency is kept coarsely, because a hit is the hot path of every `$validate-code`: a hit moves
 * its entry to the young end of the order only when at least a quarter of the capacity has been
 * inserted since the entry last moved. An entry hit is thus kept for at least three quarters of
 * the capacity's insertions after the hit, and a hit on a recently inserted entry costs one map
 * lookup instead of a delete and an insert.
 */
export class RevisionCache<V> {
  private readonly entries = new Map<string, { revision: number; value: V; moved: number }>();
  /** Insertions (and moves) so far: `moved` says how many happened before an entry's last one. */
  private insertions = 0;

  constructor(private readonly capacity: number) {}

  get(key: string, revision: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.revision !== revision) {
      this.entries.delete(key);
      return undefined;
    }
    if (this.insertions - entry.moved > this.capacity / 4) {
      // Re-inserted, so that Map order is recency order and the first key is the one to evict.
      this.entries.delete(key);
      entry.moved = this.insertions++;
      this.entries.set(key, entry);
    }
    return entry.value;
  }

  set(key: string, revision: number, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { revision, value, moved: this.insertions++ });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
