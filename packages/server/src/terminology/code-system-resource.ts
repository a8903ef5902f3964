/**
 * FHIR CodeSystem and ConceptMap resources (codesystem.html, conceptmap.html) read into the loader's
 * neutral form: a stored CodeSystem with `content` complete (or fragment) and the R4 specification's
 * own code systems become concept-table rows like any imported release. Nested `concept` entries
 * and the `parent` property both give the hierarchy; the `status`/`inactive`/`notSelectable`
 * properties (codesystem.html#defined-props) set `active` and `selectable`.
 */
import type {
  CodeSystemContent,
  CodeSystemHeader,
  ConceptDesignation,
  ConceptMapContent,
  ConceptMapping,
  ConceptPropertyValue,
  ConceptRecord,
} from './code-system-content.ts';
import { streamOf } from './in-memory-content.ts';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objects(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The version a resource without `version` is loaded as. */
export const UNVERSIONED = '';

/** `undefined` when the resource carries no concepts to load (content not-present, example…). */
export function codeSystemResourceContent(resource: Json): CodeSystemContent | undefined {
  const url = text(resource.url);
  const content = text(resource.content);
  if (url === undefined || (content !== 'complete' && content !== 'fragment')) return undefined;
  const hierarchyMeaning = text(resource.hierarchyMeaning);
  const header: CodeSystemHeader = {
    url,
    version: text(resource.version) ?? UNVERSIONED,
    name: text(resource.name) ?? text(resource.id) ?? url,
    ...optional('title', text(resource.title)),
    ...optional('publisher', text(resource.publisher)),
    ...optional('language', text(resource.language)),
    ...(hierarchyMeaning === 'is-a' ||
    hierarchyMeaning === 'grouped-by' ||
    hierarchyMeaning === 'part-of' ||
    hierarchyMeaning === 'classified-with'
      ? { hierarchyMeaning }
      : {}),
    properties: objects(resource.property).flatMap((property) => {
      const code = text(property.code);
      const type = text(property.type);
      return code !== undefined && isPropertyType(type)
        ? [{ code, type, ...optional('description', text(property.description)) }]
        : [];
    }),
  };
  return { header, concepts: streamOf(flattenConcepts(objects(resource.concept), undefined)) };
}

/** `{ key: value }` when there is a value, for spreading optional fields under exactOptionalPropertyTypes. */
function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  // A computed key widens to `{ [x: string]: string }`, which TypeScript cannot narrow back to K.
  return (value === undefined ? {} : { [key]: value }) as Partial<Record<K, string>>;
}

const PROPERTY_TYPES = ['code', 'string', 'boolean', 'integer', 'decimal', 'dateTime', 'Coding'] as const;

function isPropertyType(type: string | undefined): type is ConceptPropertyValue['type'] {
  return PROPERTY_TYPES.some((known) => known === type);
}

function* flattenConcepts(concepts: readonly Json[], parent: string | undefined): Generator<ConceptRecord> {
  for (const concept of concepts) {
    const code = text(concept.code);
    if (code === undefined) continue;
    const properties = objects(concept.property).flatMap((property) => {
      const propertyCode = text(property.code);
      const value = propertyValue(property);
      return propertyCode !== undefined && value !== undefined ? [{ code: propertyCode, value }] : [];
    });
    const parents = new Set(parent === undefined ? [] : [parent]);
    for (const { code: propertyCode, value } of properties) {
      if (propertyCode === 'parent' && (value.type === 'code' || value.type === 'Coding')) {
        parents.add(value.type === 'code' ? value.value : value.value.code);
      }
    }
    const flag = (name: string): boolean | undefined => {
      const found = properties.find((property) => property.code === name)?.value;
      return found?.type === 'boolean' ? found.value : undefined;
    };
    const status = properties.find((property) => property.code === 'status')?.value;
    const retired = status?.type === 'code' && (status.value === 'retired' || status.value === 'inactive');
    const designations: ConceptDesignation[] = objects(concept.designation).flatMap((designation) => {
      const value = text(designation.value);
      if (value === undefined) return [];
      const use = isObject(designation.use) ? designation.use : undefined;
      const useCode = text(use?.code);
      return [
        {
          value,
          ...optional('language', text(designation.language)),
          ...(use !== undefined && useCode !== undefined
            ? {
                use: {
                  code: useCode,
                  ...optional('system', text(use.system)),
                  ...optional('display', text(use.display)),
                },
              }
            : {}),
        },
      ];
    });
    yield {
      code,
      parents: [...parents],
      ...optional('display', text(concept.display)),
      ...optional('definition', text(concept.definition)),
      ...(designations.length > 0 ? { designations } : {}),
      ...(properties.length > 0 ? { properties } : {}),
      ...(flag('inactive') === true || flag('deprecated') === true || retired ? { active: false } : {}),
      ...(flag('notSelectable') === true ? { selectable: false } : {}),
    };
    yield* flattenConcepts(objects(concept.concept), code);
  }
}

function propertyValue(property: Json): ConceptPropertyValue | undefined {
  if (typeof property.valueCode === 'string') return { type: 'code', value: property.valueCode };
  if (typeof property.valueString === 'string') return { type: 'string', value: property.valueString };
  if (typeof property.valueBoolean === 'boolean') return { type: 'boolean', value: property.valueBoolean };
  if (typeof property.valueInteger === 'number') return { type: 'integer', value: property.valueInteger };
  if (typeof property.valueDecimal === 'number') return { type: 'decimal', value: property.valueDecimal };
  if (typeof property.valueDateTime === 'string') return { type: 'dateTime', value: property.valueDateTime };
  const coding = property.valueCoding;
  if (isObject(coding) && typeof coding.code === 'string') {
    return {
      type: 'Coding',
      value: {
        code: coding.code,
        ...optional('system', text(coding.system)),
        ...optional('display', text(coding.display)),
      },
    };
  }
  return undefined;
}

/** A ConceptMap resource's groups as mappings; `undefined` without a url. */
export function conceptMapResourceContent(resource: Json): ConceptMapContent | undefined {
  const url = text(resource.url);
  if (url === undefined) return undefined;
  const mappings: ConceptMapping[] = [];
  for (const group of objects(resource.group)) {
    const sourceSystem = text(group.source);
    if (sourceSystem === undefined) continue;
    const targetSystem = text(group.target);
    for (const element of objects(group.element)) {
      const code = text(element.code);
      if (code === undefined) continue;
      const source = {
        system: sourceSystem,
        code,
        ...optional('version', text(group.sourceVersion)),
        ...optional('display', text(element.display)),
      };
      for (const target of objects(element.target)) {
        const targetCode = text(target.code);
        mappings.push({
          source,
          equivalence: text(target.equivalence) ?? 'equivalent',
          ...optional('comment', text(target.comment)),
          ...(targetSystem !== undefined && targetCode !== undefined
            ? {
                target: {
                  system: targetSystem,
                  code: targetCode,
                  ...optional('version', text(group.targetVersion)),
                  ...optional('display', text(target.display)),
                },
              }
            : {}),
        });
      }
    }
  }
  const sourceValueSet = text(resource.sourceUri) ?? text(resource.sourceCanonical);
  const targetValueSet = text(resource.targetUri) ?? text(resource.targetCanonical);
  return {
    url,
    version: text(resource.version) ?? UNVERSIONED,
    name: text(resource.name) ?? text(resource.id) ?? url,
    ...optional('title', text(resource.title)),
    ...optional('sourceValueSet', sourceValueSet),
    ...optional('targetValueSet', targetValueSet),
    mappings: streamOf(mappings),
  };
}
