/**
 * The differential test's queries, by category: each parameter type with its modifiers and
 * prefixes, `:missing`, `_id`, `_lastUpdated`, one-level chains, `_has`, and ANDed combinations.
 * Built from a seeded generator over the loaded data, so a run is reproducible.
 */
import type { IdentifiedResource } from '@concordia/fhir';
import { literalTarget } from '../../support/reference-search/dataset.ts';
import { instantRange } from '../../support/reference-search/instant-range.ts';
import { referenceText } from '../../support/reference-search/matchers/reference.ts';
import type { SeededRandom } from '../../support/reference-search/seeded-random.ts';
import { dateSearch } from './date-values.ts';
import { searchValueFor } from './search-values.ts';
import type { PoolParameter, ValuePool } from './value-pool.ts';

export interface DifferentialQuery {
  resourceType: string;
  pairs: [string, string][];
}

export const VALUE_TYPES = ['token', 'string', 'reference', 'date', 'number', 'quantity', 'uri'] as const;

export type QueryCategory =
  | (typeof VALUE_TYPES)[number]
  | 'missing'
  | '_id'
  | '_lastUpdated'
  | 'chain'
  | '_has'
  | 'combined';

type Generator = (pool: ValuePool, random: SeededRandom) => DifferentialQuery | undefined;

/** A `name=value` pair for `parameter`, from a value of `from` (or of any resource) when there is one. */
function valuePair(
  random: SeededRandom,
  parameter: PoolParameter,
  from?: IdentifiedResource,
  modifiers = true,
): [string, string] | undefined {
  const { definition, entries } = parameter;
  const own = from === undefined ? entries : entries.filter((entry) => entry.resource === from);
  // Mostly values that occur; one in six invented, likely to match nothing.
  const entry =
    own.length > 0 && random.chance(from === undefined ? 0.83 : 1) ? random.pickFrom(own) : undefined;
  const value = searchValueFor(random, definition, entry?.value, { modifiers });
  if (value === undefined) return undefined;
  const name = value.modifier === undefined ? definition.code : `${definition.code}:${value.modifier}`;
  return [name, value.text];
}

function byType(type: (typeof VALUE_TYPES)[number]): Generator {
  return (pool, random) => {
    const populated = pool.populated(undefined, type);
    // One query in ten on a parameter no resource has a value for.
    const candidates =
      random.chance(0.9) && populated.length > 0 ? populated : pool.parameters(undefined, type);
    if (candidates.length === 0) return undefined;
    const parameter = random.pickFrom(candidates);
    const pair = valuePair(random, parameter);
    return pair === undefined ? undefined : { resourceType: parameter.resourceType, pairs: [pair] };
  };
}

const missing: Generator = (pool, random) => {
  const parameter = random.pickFrom(random.chance(0.8) ? pool.populated() : pool.parameters());
  return {
    resourceType: parameter.resourceType,
    pairs: [[`${parameter.definition.code}:missing`, random.chance(0.5) ? 'true' : 'false']],
  };
};

const ids: Generator = (pool, random) => {
  const resourceType = random.pickFrom(pool.types());
  const resources = pool.search.dataset.ofType(resourceType);
  const chosen = Array.from({ length: random.integer(1, 3) }, () =>
    random.chance(0.85) ? random.pickFrom(resources).id : `no-such-${random.integer(1, 99)}`,
  );
  return { resourceType, pairs: [[random.chance(0.15) ? '_id:not' : '_id', chosen.join(',')]] };
};

const lastUpdated: Generator = (pool, random) => {
  const resourceType = random.pickFrom(pool.types());
  const resource = random.pickFrom(pool.search.dataset.ofType(resourceType));
  const range = instantRange(resource.meta?.lastUpdated ?? '');
  // `ap` widens the range by 10% of its distance from now (search.html#prefix). These values are
  // seconds old, so that margin is a fraction of a second that grows while the test runs: the
  // server and the reference read the clock at different instants and disagree on a slow machine.
  // `ap` is compared on the clinical dates, which lie far from now.
  const search = dateSearch(random, range);
  return {
    resourceType,
    pairs: [['_lastUpdated', search.startsWith('ap') ? `eq${search.slice(2)}` : search]],
  };
};

/** `subject:Patient.name=x` or `subject.name=x`, with x taken from a real target. */
const chain: Generator = (pool, random) => {
  const source = random.pickFrom(pool.populated(undefined, 'reference'));
  const entry = random.pickFrom(source.entries);
  const text = referenceText(entry.value);
  const target = text === undefined ? undefined : pool.search.dataset.resolve(text);
  if (target === undefined) return undefined;
  const inner = innerParameter(pool, random, target.resourceType);
  const pair =
    inner === undefined ? undefined : valuePair(random, inner, random.chance(0.8) ? target : undefined);
  if (pair === undefined) return undefined;
  const typed = random.chance(0.5) ? `:${target.resourceType}` : '';
  return {
    resourceType: source.resourceType,
    pairs: [[`${source.definition.code}${typed}.${pair[0]}`, pair[1]]],
  };
};

/** `_has:Observation:patient:code=x`, with x taken from a resource that does point back. */
const has: Generator = (pool, random) => {
  const source = random.pickFrom(pool.populated(undefined, 'reference'));
  const entry = random.pickFrom(source.entries);
  const text = referenceText(entry.value);
  const target = text === undefined ? undefined : literalTarget(text);
  if (target === undefined || !source.definition.targets.includes(target.type)) return undefined;
  const inner = innerParameter(pool, random, source.resourceType);
  const pair =
    inner === undefined
      ? undefined
      : valuePair(random, inner, random.chance(0.8) ? entry.resource : undefined);
  if (pair === undefined) return undefined;
  return {
    resourceType: target.type,
    pairs: [[`_has:${source.resourceType}:${source.definition.code}:${pair[0]}`, pair[1]]],
  };
};

/** A parameter on `resourceType` to chain to or reverse-chain from: any type but uri and number. */
function innerParameter(
  pool: ValuePool,
  random: SeededRandom,
  resourceType: string,
): PoolParameter | undefined {
  const candidates = pool
    .populated(resourceType)
    .filter((parameter) => ['token', 'string', 'date', 'reference'].includes(parameter.definition.type));
  return candidates.length === 0 ? undefined : random.pickFrom(candidates);
}

/** Two or three parameters ANDed on one type, sometimes the same parameter twice (a range). */
const combined: Generator = (pool, random) => {
  const resourceType = random.pickFrom(pool.types().filter((type) => pool.populated(type).length > 1));
  const anchor = random.pickFrom(pool.search.dataset.ofType(resourceType));
  const pairs: [string, string][] = [];
  for (let i = random.integer(2, 3); i > 0; i--) {
    const parameter = random.pickFrom(pool.populated(resourceType));
    const pair = valuePair(random, parameter, random.chance(0.7) ? anchor : undefined);
    if (pair !== undefined) pairs.push(pair);
  }
  return pairs.length < 2 ? undefined : { resourceType, pairs };
};

const GENERATORS: Record<QueryCategory, Generator> = {
  token: byType('token'),
  string: byType('string'),
  reference: byType('reference'),
  date: byType('date'),
  number: byType('number'),
  quantity: byType('quantity'),
  uri: byType('uri'),
  missing,
  _id: ids,
  _lastUpdated: lastUpdated,
  chain,
  _has: has,
  combined,
};

export const QUERY_CATEGORIES: readonly QueryCategory[] = [
  ...VALUE_TYPES,
  'missing',
  '_id',
  '_lastUpdated',
  'chain',
  '_has',
  'combined',
];

/** `count` distinct queries of `category` (fewer only if the data cannot give that many). */
export function generateQueries(
  pool: ValuePool,
  random: SeededRandom,
  category: QueryCategory,
  count: number,
): DifferentialQuery[] {
  const seen = new Set<string>();
  const queries: DifferentialQuery[] = [];
  for (let attempt = 0; attempt < count * 20 && queries.length < count; attempt++) {
    const query = GENERATORS[category](pool, random);
    if (query === undefined) continue;
    const key = `${query.resourceType}?${JSON.stringify(query.pairs)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    queries.push(query);
  }
  return queries;
}
