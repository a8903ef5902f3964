/**
 * ClaML modifiers (ISO 13120 `Modifier`, `ModifierClass`, `ModifiedBy`, `ExcludeModifier`): how
 * WHO ICD-10 spells subdivisions it shares between categories. `E10` is "ModifiedBy S04E10_4",
 * whose modifier classes `.0` "With coma" … `.9` make `E10.0` … `E10.9` — codes no `<Class>`
 * lists. A modifier applies to the leaves below the category that names it: `I70`'s children
 * `I70.0` … with the bare digits `0`/`1` give `I70.00`, `I70.01`, and a four-character leaf
 * `T14.2` with `0`/`1` gives `T14.20`. A class under an `ExcludeModifier` is left out, and
 * `ModifiedBy all="false"` applies only the `ValidModifierClass`es it lists.
 *
 * Two cases are not expanded, and reported: a modifier named by a block (WHO uses it for
 * optional fifth characters of whole chapter XIX/XX ranges), and a bare digit on a
 * three-character leaf (national conventions differ: `M45.X0` in the UK, none in WHO's list).
 */
import type { ConceptRecord } from '../code-system-content.ts';
import { childElements, textContent, type XmlElement } from './xml-subtrees.ts';

export interface ModifierClassEntry {
  code: string;
  display: string;
}

/** What expansion needs to know about each class, kept while the classes stream past. */
export interface ClassOutline {
  code: string;
  kind: string;
  display: string;
  children: string[];
  modifiedBy: { modifier: string; valid?: ReadonlySet<string> }[];
  excluded: ReadonlySet<string>;
}

export function modifierClassEntry(
  element: XmlElement,
): { modifier: string; entry: ModifierClassEntry } | undefined {
  const modifier = element.attributes.modifier;
  const code = element.attributes.code;
  if (modifier === undefined || code === undefined) return undefined;
  const preferred = childElements(element, 'Rubric').find((rubric) => rubric.attributes.kind === 'preferred');
  const label = preferred === undefined ? undefined : childElements(preferred, 'Label')[0];
  return { modifier, entry: { code, display: label === undefined ? code : textContent(label) } };
}

export function classOutline(element: XmlElement, display: string): ClassOutline {
  return {
    code: element.attributes.code ?? '',
    kind: element.attributes.kind ?? 'category',
    display,
    children: childElements(element, 'SubClass').flatMap((sub) =>
      sub.attributes.code ? [sub.attributes.code] : [],
    ),
    modifiedBy: childElements(element, 'ModifiedBy').flatMap((modifiedBy) => {
      const modifier = modifiedBy.attributes.code;
      if (modifier === undefined) return [];
      const valid = childElements(modifiedBy, 'ValidModifierClass').flatMap((v) =>
        v.attributes.code ? [v.attributes.code] : [],
      );
      return [{ modifier, ...(modifiedBy.attributes.all === 'false' ? { valid: new Set(valid) } : {}) }];
    }),
    excluded: new Set(
      childElements(element, 'ExcludeModifier').flatMap((exclude) =>
        exclude.attributes.code ? [exclude.attributes.code] : [],
      ),
    ),
  };
}

export function* modifierConcepts(
  classes: ReadonlyMap<string, ClassOutline>,
  modifiers: ReadonlyMap<string, readonly ModifierClassEntry[]>,
  onWarning: ((message: string) => void) | undefined,
): Generator<ConceptRecord> {
  const generated = new Set<string>();
  for (const outline of classes.values()) {
    for (const { modifier, valid } of outline.modifiedBy) {
      const entries = (modifiers.get(modifier) ?? []).filter(
        (entry) => valid === undefined || valid.has(entry.code),
      );
      if (entries.length === 0) {
        onWarning?.(`${outline.code}: modifier ${modifier} has no modifier classes; not expanded`);
        continue;
      }
      if (outline.kind !== 'category') {
        onWarning?.(`${outline.code}: modifier ${modifier} on a ${outline.kind} is not expanded`);
        continue;
      }
      for (const leaf of leavesBelow(outline, modifier, classes)) {
        for (const entry of entries) {
          if (!entry.code.startsWith('.') && !leaf.code.includes('.')) {
            onWarning?.(
              `${leaf.code}: modifier ${modifier} digit ${entry.code} on a three-character code; not expanded`,
            );
            break;
          }
          const code = `${leaf.code}${entry.code}`;
          // A subdivision the file spells out as a class wins over the generated one.
          if (classes.has(code) || generated.has(code)) continue;
          generated.add(code);
          yield {
            code,
            display: `${leaf.display} (${entry.display})`,
            parents: [leaf.code],
            properties: [
              { code: 'kind', value: { type: 'code', value: 'category' } },
              { code: 'modifier', value: { type: 'code', value: modifier } },
            ],
          };
        }
      }
    }
  }
}

/** The class itself if it is a leaf, else its leaves; a subtree under ExcludeModifier is skipped. */
function leavesBelow(
  outline: ClassOutline,
  modifier: string,
  classes: ReadonlyMap<string, ClassOutline>,
): ClassOutline[] {
  if (outline.excluded.has(modifier)) return [];
  const children = outline.children.flatMap((code) => {
    const child = classes.get(code);
    return child === undefined ? [] : [child];
  });
  if (children.length === 0) return [outline];
  return children.flatMap((child) => leavesBelow(child, modifier, classes));
}
