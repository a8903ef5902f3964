/**
 * The values each search parameter selects in the loaded data, per resource type, read with the
 * reference evaluator's own selector: queries are built from values that occur (and some that
 * do not), so most of them match something.
 */
import type { IdentifiedResource, SearchParameterDefinition } from '@concordia/fhir';
import type { ReferenceSearch } from '../../support/reference-search/evaluate.ts';
import { matcherFor } from '../../support/reference-search/matchers/index.ts';
import type { SelectedValue } from '../../support/reference-search/select-values.ts';

export interface PoolEntry {
  resource: IdentifiedResource;
  value: SelectedValue;
}

export interface PoolParameter {
  resourceType: string;
  definition: SearchParameterDefinition;
  /** Every selected value with the resource it comes from; empty when no resource has one. */
  entries: PoolEntry[];
}

/** Answered from the resource row (`_id`, `_lastUpdated`): their own query categories. */
const ROW_PARAMETERS = new Set(['_id', '_lastUpdated']);

export class ValuePool {
  private readonly byType = new Map<string, PoolParameter[]>();

  constructor(readonly search: ReferenceSearch) {
    for (const resourceType of search.dataset.types()) {
      const parameters = search.registry
        .forType(resourceType)
        .filter(
          (definition) =>
            definition.expression !== undefined &&
            matcherFor(definition.type) !== undefined &&
            !ROW_PARAMETERS.has(definition.code),
        )
        .map((definition) => ({
          resourceType,
          definition,
          entries: this.entriesOf(resourceType, definition),
        }));
      this.byType.set(resourceType, parameters);
    }
  }

  types(): string[] {
    return [...this.byType.keys()];
  }

  /** The parameters of `resourceType` (of one search type if given), with or without values. */
  parameters(resourceType?: string, type?: string): PoolParameter[] {
    const all =
      resourceType === undefined ? [...this.byType.values()].flat() : (this.byType.get(resourceType) ?? []);
    return type === undefined ? all : all.filter((parameter) => parameter.definition.type === type);
  }

  /** The parameters with at least one value in the data. */
  populated(resourceType?: string, type?: string): PoolParameter[] {
    return this.parameters(resourceType, type).filter((parameter) => parameter.entries.length > 0);
  }

  parameter(resourceType: string, code: string): PoolParameter | undefined {
    return this.byType.get(resourceType)?.find((parameter) => parameter.definition.code === code);
  }

  private entriesOf(resourceType: string, definition: SearchParameterDefinition): PoolEntry[] {
    return this.search.dataset
      .ofType(resourceType)
      .flatMap((resource) =>
        this.search.selector.select(resource, definition).map((value) => ({ resource, value })),
      );
  }
}
