/**
 * What FHIRPath Patch needs to know about an element it writes: whether it repeats (JSON array
 * or not), whether it is a choice (`deceased[x]` → `deceasedBoolean`), and its type (to build
 * anonymous values from `part`s and to reject a value of the wrong kind, fhirpatch.html rule 3).
 * Read from the R4 model that ships with fhirpath.js, which is the same model the path is
 * evaluated with, so the element paths match the `path` of its ResourceNodes.
 */
import r4model from 'fhirpath/fhir-context/r4';

export interface ElementInfo {
  /** Path of the element in the model, e.g. `Patient.contact` or `HumanName.given`. */
  path: string;
  repeating: boolean;
  /** Type suffixes (`Boolean`, `DateTime`, …) when the element is a choice `name[x]`. */
  choiceTypes: readonly string[] | undefined;
  /** FHIR type code, e.g. `HumanName`, `string`, `BackboneElement`; undefined for choices. */
  type: string | undefined;
}

const PRIMITIVE = /^[a-z]/;

function typeCode(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  // Some entries carry target profiles: `{ code: 'Reference', refType: [...] }`.
  if (typeof entry === 'object' && entry !== null && 'code' in entry && typeof entry.code === 'string') {
    return entry.code;
  }
  return undefined;
}

/** The owner path and the paths it inherits elements from (`Age` → `Quantity` → `Element`). */
function ancestry(ownerPath: string): string[] {
  const chain = [ownerPath];
  const elsewhere = r4model.pathsDefinedElsewhere[ownerPath];
  if (elsewhere) chain.push(elsewhere);
  let type: string | undefined = ownerPath.includes('.') ? 'BackboneElement' : ownerPath;
  if (type !== ownerPath && type) chain.push(type);
  while (type && r4model.type2Parent[type]) {
    type = r4model.type2Parent[type];
    if (type) chain.push(type);
  }
  return chain;
}

/** The element `name` of `ownerPath`, or undefined when the model does not define it. */
export function elementInfo(ownerPath: string, name: string): ElementInfo | undefined {
  for (const base of ancestry(ownerPath)) {
    const path = `${base}.${name}`;
    const choiceTypes = r4model.choiceTypePaths[path];
    const type = typeCode(r4model.path2Type[path]);
    if (choiceTypes || type) {
      return { path, repeating: r4model.path2Repeating[path] === true, choiceTypes, type };
    }
  }
  return undefined;
}

/**
 * The path under which the children of a value of this element are described: backbone elements
 * are described in place (`Patient.contact.name`), datatypes by their type (`HumanName.given`).
 */
export function childOwnerPath(element: ElementInfo, typeSuffix?: string): string | undefined {
  const type = element.type ?? (typeSuffix ? typeSuffix : undefined);
  if (type === undefined) return undefined;
  if (type === 'BackboneElement' || type === 'Element') return element.path;
  return type;
}

export function isPrimitiveType(type: string): boolean {
  return PRIMITIVE.test(type) || type.startsWith('System.');
}

/** The choice type a JSON key names, e.g. `deceased` + `deceasedDateTime` → `DateTime`. */
export function choiceSuffix(element: ElementInfo, name: string, key: string): string | undefined {
  const suffix = key.slice(name.length);
  return key.startsWith(name) && element.choiceTypes?.includes(suffix) ? suffix : undefined;
}

/**
 * The element a property name refers to: `birthDate`, a choice by its base name (`deceased`), or
 * a choice by its JSON key (`deceasedBoolean`, which also fixes the type suffix).
 */
export function resolveElementName(
  ownerPath: string,
  name: string,
): { element: ElementInfo; name: string; suffix: string | undefined } | undefined {
  const direct = elementInfo(ownerPath, name);
  if (direct) return { element: direct, name, suffix: undefined };
  for (let end = name.length - 1; end > 0; end--) {
    const base = name.slice(0, end);
    const element = elementInfo(ownerPath, base);
    const suffix = element && choiceSuffix(element, base, name);
    if (element && suffix) return { element, name: base, suffix };
  }
  return undefined;
}

/** True when `type` is `ancestor` or derives from it (`Age` → `Quantity`). */
export function derivesFrom(type: string, ancestor: string): boolean {
  for (let current: string | undefined = type; current; current = r4model.type2Parent[current]) {
    if (current === ancestor) return true;
  }
  return false;
}
