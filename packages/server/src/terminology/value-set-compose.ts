/**
 * A ValueSet's `compose` (valueset.html#compose) turned into one SQL condition over a concept row
 * `c` of the concept tables, so $expand, $validate-code and `:in` are each one statement whatever
 * the value set: includes are ORed, excludes subtracted, an include's concept list, filters and
 * nested value sets ANDed (valueset.html#compositions). Codes of code systems that are not loaded
 * can still be members when a value set lists them by code: those come back as `listed`.
 */
import { fhirError } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import { joinSql, type Sql, sql } from '../store/sql.ts';
import type { CodeSystemCatalog, CodeSystemVersion } from './code-system-catalog.ts';
import type { TerminologyScope } from './terminology-scope.ts';
import type { ValueSetSource } from './value-set-source.ts';

type Json = Record<string, unknown>;

export interface ListedCoding {
  system: string;
  version?: string;
  code: string;
  display?: string;
}

export interface CompiledValueSet {
  /** Members in the concept tables: a condition on the concept row `c`. */
  condition: Sql;
  /** Members listed by code for code systems that are not loaded (no hierarchy, no status). */
  listed: readonly ListedCoding[];
  /**
   * `compose.inactive` (valueset-definitions.html#ValueSet.compose.inactive): `true` inactive codes
   * are members, `false` they are not, absent the implementation decides (expansions keep them,
   * marked inactive; $validate-code does not accept them).
   */
  inactive?: boolean;
}

export interface ComposeDeps {
  ctx: RequestContext;
  scope: TerminologyScope;
  catalog: CodeSystemCatalog;
  valueSets: ValueSetSource;
}

/** How deep value sets may include value sets: a cycle would never end. */
const MAX_NESTING = 10;

export async function compileValueSet(
  valueSet: Json,
  deps: ComposeDeps,
  nesting = 0,
): Promise<CompiledValueSet> {
  if (nesting > MAX_NESTING) {
    throw fhirError('invalid', 'processing', `Value sets nest deeper than ${MAX_NESTING} levels (a cycle?)`);
  }
  const compose = isObject(valueSet.compose) ? valueSet.compose : undefined;
  if (compose === undefined) {
    throw fhirError(
      'invalid',
      'not-supported',
      `Value set ${String(valueSet.url ?? '')} has no compose to expand`,
    );
  }
  // One after another: inside a transaction they share one connection, which runs one query at a
  // time (node-postgres queues concurrent ones, and warns that it will refuse them).
  const includes: CompiledValueSet[] = [];
  for (const include of objects(compose.include)) includes.push(await compileInclude(include, deps, nesting));
  const excludes: CompiledValueSet[] = [];
  for (const exclude of objects(compose.exclude)) excludes.push(await compileInclude(exclude, deps, nesting));
  const included = anyOf(includes.map((part) => part.condition));
  const condition =
    excludes.length === 0
      ? included
      : sql`(${included} and not ${anyOf(excludes.map((part) => part.condition))})`;
  const excludedListed = excludes.flatMap((part) => part.listed);
  const listed = includes
    .flatMap((part) => part.listed)
    .filter(
      (coding) =>
        !excludedListed.some((other) => other.system === coding.system && other.code === coding.code),
    );
  return {
    condition,
    listed,
    ...(typeof compose.inactive === 'boolean' ? { inactive: compose.inactive } : {}),
  };
}

function anyOf(conditions: readonly Sql[]): Sql {
  return conditions.length === 0 ? sql`false` : sql`(${joinSql(conditions, ' or ')})`;
}

async function compileInclude(include: Json, deps: ComposeDeps, nesting: number): Promise<CompiledValueSet> {
  const conditions: Sql[] = [];
  let listed: ListedCoding[] = [];
  const system = text(include.system);
  const concepts = objects(include.concept).flatMap((concept) => {
    const code = text(concept.code);
    return code === undefined ? [] : [{ code, display: text(concept.display) }];
  });
  if (system !== undefined) {
    const version = text(include.version);
    const codeSystem = await deps.catalog.resolve(deps.scope, system, version);
    if (codeSystem === undefined) {
      if (concepts.length === 0) {
        throw fhirError(
          'not-found',
          'not-found',
          `Code system ${system}${version ? `|${version}` : ''} is not loaded`,
        );
      }
      listed = concepts.map((concept) => ({
        system,
        code: concept.code,
        ...(version !== undefined ? { version } : {}),
        ...(concept.display !== undefined ? { display: concept.display } : {}),
      }));
      conditions.push(sql`false`);
    } else {
      conditions.push(sql`c.code_system_id = ${codeSystem.id}`);
      if (concepts.length > 0) conditions.push(sql`c.code = any(${concepts.map((c) => c.code)}::text[])`);
      for (const filter of objects(include.filter)) conditions.push(filterCondition(codeSystem, filter));
    }
  }
  for (const canonical of strings(include.valueSet)) {
    const nested = await compileValueSet(
      await deps.valueSets.find(deps.ctx, deps.scope.reads, canonical),
      deps,
      nesting + 1,
    );
    conditions.push(nested.condition);
    listed = system === undefined && listed.length === 0 ? [...nested.listed] : listed;
  }
  if (conditions.length === 0) {
    throw fhirError('invalid', 'invalid', 'A compose.include needs a system or a valueSet (vsd-1)');
  }
  return { condition: sql`(${joinSql(conditions, ' and ')})`, listed };
}

/** One `compose.include.filter` (valueset-filter-operator, codesystem.html#filters). */
function filterCondition(codeSystem: CodeSystemVersion, filter: Json): Sql {
  const property = text(filter.property) ?? '';
  const op = text(filter.op) ?? '';
  const value = text(filter.value) ?? '';
  const id = codeSystem.id;
  const list = value.split(',').map((item) => item.trim());
  const conceptOrdinal = sql`(select o.ordinal from concept o where o.code_system_id = ${id} and o.code = ${value})`;
  if (property === 'concept' || property === 'code') {
    switch (op) {
      case 'is-a':
        return sql`c.ordinal in (select a.descendant from concept_ancestor a
          where a.code_system_id = ${id} and a.ancestor = ${conceptOrdinal})`;
      // R4 4.0.1 spells it `descendent-of` (codesystem-filter-operator); R5 fixed it to `descendant-of`.
      case 'descendent-of':
      case 'descendant-of':
        return sql`c.ordinal in (select a.descendant from concept_ancestor a
          where a.code_system_id = ${id} and a.ancestor = ${conceptOrdinal} and a.descendant <> a.ancestor)`;
      case 'is-not-a':
        return sql`c.ordinal not in (select a.descendant from concept_ancestor a
          where a.code_system_id = ${id} and a.ancestor = ${conceptOrdinal})`;
      case 'generalizes':
        return sql`c.ordinal in (select a.ancestor from concept_ancestor a
          where a.code_system_id = ${id} and a.descendant = ${conceptOrdinal})`;
      case '=':
        return sql`c.code = ${value}`;
      case 'in':
        return sql`c.code = any(${list}::text[])`;
      case 'not-in':
        return sql`not (c.code = any(${list}::text[]))`;
      case 'regex':
        return sql`c.code ~ ${anchored(value)}`;
    }
  } else if (property === 'display') {
    switch (op) {
      case '=':
        return sql`c.display = ${value}`;
      case 'in':
        return sql`c.display = any(${list}::text[])`;
      case 'regex':
        return sql`c.display ~ ${anchored(value)}`;
    }
  } else if ((property === 'inactive' || property === 'notSelectable') && op === '=') {
    const column = property === 'inactive' ? sql`not c.active` : sql`not c.selectable`;
    return sql`(${column}) = ${value === 'true'}`;
  } else if ((property === 'parent' || property === 'child') && (op === '=' || op === 'in')) {
    const [mine, theirs] =
      property === 'parent' ? [sql`p.child`, sql`p.parent`] : [sql`p.parent`, sql`p.child`];
    return sql`exists (select 1 from concept_parent p join concept r on r.code_system_id = p.code_system_id
      and r.ordinal = ${theirs} where p.code_system_id = ${id} and ${mine} = c.ordinal and r.code = any(${list}::text[]))`;
  } else {
    const values = sql`from concept_property p where p.code_system_id = c.code_system_id and p.ordinal = c.ordinal
      and p.code = ${property}`;
    switch (op) {
      case '=':
        return sql`exists (select 1 ${values} and p.value_text = ${value})`;
      case 'in':
        return sql`exists (select 1 ${values} and p.value_text = any(${list}::text[]))`;
      case 'not-in':
        return sql`not exists (select 1 ${values} and p.value_text = any(${list}::text[]))`;
      case 'regex':
        return sql`exists (select 1 ${values} and p.value_text ~ ${anchored(value)})`;
      case 'exists':
        return value === 'false' ? sql`not exists (select 1 ${values})` : sql`exists (select 1 ${values})`;
    }
  }
  throw fhirError(
    'invalid',
    'not-supported',
    `The filter ${property} ${op} ${value} is not supported on ${codeSystem.url}`,
  );
}

/** A filter's regex matches the whole value (valueset-filter-operator `regex`). */
function anchored(pattern: string): string {
  return `^(?:${pattern})$`;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objects(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
