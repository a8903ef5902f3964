/**
 * The demo's deterministic generator (mulberry32): the same seed gives the same queries in every
 * run. `pickFrom` takes lists not known to be non-empty, as the value pools are.
 */
import { SeededRandom as DemoSeededRandom } from '../../../src/demo/seeded-random.ts';

export class SeededRandom extends DemoSeededRandom {
  pickFrom<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
}
