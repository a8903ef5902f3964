/**
 * A BindingChecker over ValueSet and CodeSystem resources held in memory: the R4 spec's own
 * (so that required bindings to FHIR's code systems — Encounter.status, Patient.gender — are
 * checked everywhere, browser included), plus any a package brings. Only what can be decided
 * from the resources is answered: an enumerated include, a whole `complete` code system, `is-a`
 * / `descendent-of` filters over its hierarchy, nested value sets. Anything else (SNOMED CT,
 * LOINC, other filters) is `known: false`, for the terminology service to answer.
 */
import { isRecord } from '../resource.ts';
import type { BindingCheck, BindingChecker, BindingCoding } from './binding-checker.ts';

/** system → codes; `undefined` when the value set cannot be expanded here. */
type Expansion = Map<string, Set<string>>;

interface CodeSystemIndex {
  codes: Set<string>;
  /** code → its direct children (CodeSystem.concept.concept). */
  children: Map<string, string[]>;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function withoutVersion(url: string): string {
  const bar = url.indexOf('|');
  return bar < 0 ? url : url.slice(0, bar);
}

function indexConcepts(concepts: Record<string, unknown>[], index: CodeSystemIndex, parent?: string): void {
  for (const concept of concepts) {
    const code = text(concept.code);
    if (code === undefined) continue;
    index.codes.add(code);
    if (parent !== undefined) index.children.set(parent, [...(index.children.get(parent) ?? []), code]);
    indexConcepts(records(concept.concept), index, code);
  }
}

export class InMemoryValueSets implements BindingChecker {
  private readonly valueSets = new Map<string, Record<string, unknown>>();
  private readonly codeSystems = new Map<string, CodeSystemIndex>();
  private readonly expansions = new Map<string, Expansion | undefined>();

  /** Adds ValueSet and CodeSystem resources (others are ignored); replaces by URL. */
  add(resource: unknown): void {
    if (!isRecord(resource)) return;
    const url = text(resource.url);
    if (url === undefined) return;
    if (resource.resourceType === 'ValueSet') this.valueSets.set(url, resource);
    else if (resource.resourceType === 'CodeSystem' && resource.content === 'complete') {
      const index: CodeSystemIndex = { codes: new Set(), children: new Map() };
      indexConcepts(records(resource.concept), index);
      this.codeSystems.set(url, index);
    } else return;
    this.expansions.clear();
  }

  addBundle(bundle: unknown): void {
    if (isRecord(bundle)) for (const entry of records(bundle.entry)) this.add(entry.resource);
  }

  async check(valueSet: string, coding: BindingCoding): Promise<BindingCheck> {
    return this.checkNow(valueSet, coding);
  }

  checkNow(valueSet: string, coding: BindingCoding): BindingCheck {
    const expansion = this.expand(withoutVersion(valueSet), new Set());
    if (expansion === undefined) return { known: false };
    if (coding.system === undefined) {
      // A `code` element carries no system: the code system is implied by the binding.
      for (const codes of expansion.values()) if (codes.has(coding.code)) return { known: true, valid: true };
      return { known: true, valid: false };
    }
    const codes = expansion.get(coding.system);
    return { known: true, valid: codes?.has(coding.code) === true };
  }

  private expand(url: string, visiting: Set<string>): Expansion | undefined {
    if (this.expansions.has(url)) return this.expansions.get(url);
    const valueSet = this.valueSets.get(url);
    if (valueSet === undefined || visiting.has(url)) return undefined;
    visiting.add(url);
    const compose = isRecord(valueSet.compose) ? valueSet.compose : {};
    const expansion: Expansion | undefined = new Map();
    let complete = true;
    for (const include of records(compose.include)) {
      const part = this.part(include, visiting);
      if (part === undefined) complete = false;
      else
        for (const [system, codes] of part)
          expansion.set(system, new Set([...(expansion.get(system) ?? []), ...codes]));
    }
    for (const exclude of records(compose.exclude)) {
      const part = this.part(exclude, visiting);
      if (part === undefined) complete = false;
      else for (const [system, codes] of part) for (const code of codes) expansion.get(system)?.delete(code);
    }
    const result = complete ? expansion : undefined;
    this.expansions.set(url, result);
    return result;
  }

  /** One compose.include (or exclude): its codes, intersected with its nested value sets. */
  private part(include: Record<string, unknown>, visiting: Set<string>): Expansion | undefined {
    const system = text(include.system);
    let result: Expansion | undefined;
    if (system !== undefined) {
      const codes = this.systemCodes(system, include);
      if (codes === undefined) return undefined;
      result = new Map([[system, codes]]);
    }
    for (const nested of Array.isArray(include.valueSet) ? include.valueSet : []) {
      if (typeof nested !== 'string') return undefined;
      const inner = this.expand(withoutVersion(nested), visiting);
      if (inner === undefined) return undefined;
      // valueset-definitions.html#ValueSet.compose.include.valueSet: several are intersected.
      result = result === undefined ? inner : intersect(result, inner);
    }
    return result ?? new Map();
  }

  private systemCodes(system: string, include: Record<string, unknown>): Set<string> | undefined {
    const listed = records(include.concept)
      .map((c) => text(c.code))
      .filter((c): c is string => c !== undefined);
    const filters = records(include.filter);
    if (listed.length > 0 && filters.length === 0) return new Set(listed);
    const index = this.codeSystems.get(system);
    if (index === undefined) return undefined;
    let codes = new Set(index.codes);
    for (const filter of filters) {
      const value = text(filter.value);
      if (filter.property !== 'concept' || value === undefined) return undefined;
      if (filter.op === 'is-a') codes = intersectSet(codes, descendants(index, value, true));
      else if (filter.op === 'descendent-of') codes = intersectSet(codes, descendants(index, value, false));
      else if (filter.op === 'is-not-a')
        codes = new Set([...codes].filter((c) => !descendants(index, value, true).has(c)));
      else return undefined;
    }
    return codes;
  }
}

function descendants(index: CodeSystemIndex, code: string, includeSelf: boolean): Set<string> {
  const found = new Set<string>(includeSelf ? [code] : []);
  const queue = [...(index.children.get(code) ?? [])];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    if (found.has(next)) continue;
    found.add(next);
    queue.push(...(index.children.get(next) ?? []));
  }
  return found;
}

function intersectSet(a: Set<string>, b: Set<string>): Set<string> {
  return new Set([...a].filter((code) => b.has(code)));
}

function intersect(a: Expansion, b: Expansion): Expansion {
  const result: Expansion = new Map();
  for (const [system, codes] of a) {
    const other = b.get(system);
    if (other !== undefined) result.set(system, intersectSet(codes, other));
  }
  return result;
}

/** The first checker that knows the value set answers (e.g. the spec's own, then the terminology service). */
export function firstKnowing(checkers: readonly BindingChecker[]): BindingChecker {
  return {
    async check(valueSet, coding) {
      for (const checker of checkers) {
        const answer = await checker.check(valueSet, coding);
        if (answer.known) return answer;
      }
      return { known: false };
    },
  };
}
