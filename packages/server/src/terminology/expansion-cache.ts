/**
 * Expansions already computed (valueset-operation-expand.html lets a server answer from a cached
 * expansion; `Expansion.timestamp` says when it was computed). An entry is served only while the
 * terminology revision it was computed at is current (terminology-revision.ts), so a new load, a
 * stored ValueSet or CodeSystem written on any node retires it. Least recently used entries go first.
 */
import type { Expansion } from './terminology-service.ts';

export class ExpansionCache {
  private readonly entries = new Map<string, { revision: number; expansion: Expansion }>();

  constructor(private readonly capacity: number) {}

  get(key: string, revision: number): Expansion | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.revision !== revision) return undefined;
    this.entries.set(key, entry);
    return entry.expansion;
  }

  set(key: string, revision: number, expansion: Expansion): void {
    this.entries.delete(key);
    this.entries.set(key, { revision, expansion });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }
}
