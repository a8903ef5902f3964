/**
 * The cache of computed terminology answers (revision-cache.ts): an entry is served only at the
 * revision it was computed at, the cache never holds more than its capacity, and the entry that
 * goes is one not used for long — recency kept coarsely, but never evicting an entry hit within
 * the last three quarters of the capacity's insertions.
 */
import { describe, expect, it } from 'vitest';
import { RevisionCache } from '../../src/terminology/revision-cache.ts';

describe('RevisionCache', () => {
  it('serves an entry only at the revision it was computed at, and forgets it after', () => {
    const cache = new RevisionCache<string>(10);
    cache.set('a', 1, 'one');
    expect(cache.get('a', 1)).toBe('one');
    expect(cache.get('a', 2)).toBeUndefined();
    // Retired for good: a later read at the old revision finds nothing either.
    expect(cache.get('a', 1)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('holds at most its capacity, evicting the oldest entry that was not used', () => {
    const cache = new RevisionCache<number>(8);
    for (let index = 0; index < 8; index += 1) cache.set(`k${index}`, 1, index);
    cache.set('k8', 1, 8);
    expect(cache.size).toBe(8);
    expect(cache.get('k0', 1)).toBeUndefined();
    expect(cache.get('k1', 1)).toBe(1);
  });

  it('keeps an entry that is hit while others come and go', () => {
    const cache = new RevisionCache<number>(8);
    cache.set('hot', 1, 0);
    for (let index = 0; index < 100; index += 1) {
      cache.set(`cold${index}`, 1, index);
      expect(cache.get('hot', 1)).toBe(0);
    }
    expect(cache.size).toBe(8);
    expect(cache.get('cold0', 1)).toBeUndefined();
  });

  it('keeps a hit entry for at least three quarters of the capacity in insertions after the hit', () => {
    const capacity = 100;
    const cache = new RevisionCache<number>(capacity);
    for (let index = 0; index < capacity; index += 1) cache.set(`k${index}`, 1, index);
    // k0 is the oldest; a hit now must save it from the next 75 insertions at least.
    expect(cache.get('k0', 1)).toBe(0);
    for (let index = 0; index < 75; index += 1) cache.set(`new${index}`, 1, index);
    expect(cache.get('k0', 1)).toBe(0);
    // Entries nobody asked for went first, oldest first.
    expect(cache.get('k1', 1)).toBeUndefined();
    expect(cache.get('k99', 1)).toBe(99);
  });
});
