/**
 * Answers the common shapes of invariants straight from the JSON, so that only the rest go to
 * fhirpath.js (which costs tens of microseconds a call; a Synthea Observation carries a dozen
 * constraints). A tiny evaluator of FHIRPath's boolean skeleton — `implies`, `or`, `and`,
 * parentheses — over atoms whose value the JSON shows:
 *   `a.b.exists()`, `a.empty()`, `a.hasValue()`, their `.not()`, and `x.where(…)….empty()` with
 *   `x` absent. Anything else is "don't know" (`undefined`), and the caller evaluates it fully.
 * Three-valued logic (fhirpath.html#boolean-logic) is respected: an unknown part only decides
 * when the known parts cannot.
 */
import { primitiveExtensionsKey } from '../../primitive-extensions-key.ts';

type Tri = boolean | undefined;

/** Top-level parts of `expression` split on the keyword `op` (outside parentheses and strings). */
function splitTop(expression: string, op: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = false;
  let start = 0;
  const needle = ` ${op} `;
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === "'") quote = false;
    } else if (ch === "'") quote = true;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && expression.startsWith(needle, i)) {
      parts.push(expression.slice(start, i));
      start = i + needle.length;
      i += needle.length - 1;
    }
  }
  parts.push(expression.slice(start));
  return parts.map((part) => part.trim());
}

function isWrapped(expression: string): boolean {
  if (!expression.startsWith('(') || !expression.endsWith(')')) return false;
  let depth = 0;
  for (let i = 0; i < expression.length; i++) {
    if (expression[i] === '(') depth++;
    else if (expression[i] === ')') depth--;
    if (depth === 0 && i < expression.length - 1) return false;
  }
  return true;
}

/** `withExtensions`: count `_name` (an extension-only primitive) as present — `exists()` does, `hasValue()` does not. */
function present(node: Record<string, unknown>, name: string, withExtensions = true): unknown[] {
  const direct = node[name];
  if (direct !== undefined) return Array.isArray(direct) ? direct : [direct];
  const extensions = node[primitiveExtensionsKey(name)];
  if (extensions !== undefined) return withExtensions ? [extensions] : [];
  for (const key of Object.keys(node)) {
    const next = key.charCodeAt(name.length);
    if (key.length > name.length && key.startsWith(name) && next >= 0x41 && next <= 0x5a) return [node[key]];
  }
  return [];
}

const ATOM =
  /^((?:`?[a-z][A-Za-z0-9]*`?\.)*?`?[a-z][A-Za-z0-9]*`?)\.(exists|empty|hasValue)\(\)(\.not\(\))?$/;
const EMPTY_PRESERVING = /^(?:where|select|ofType|as|trace|first|last|tail|distinct)\(/;

/** An expression compiled to its evident skeleton: evaluates to true/false, or undefined when the JSON does not show. */
type Evident = (node: Record<string, unknown>) => Tri;

const unknown: Evident = () => undefined;

function compileAtom(expression: string): Evident {
  const match = ATOM.exec(expression);
  if (match !== null) {
    const path = (match[1] ?? '').split('.').map((segment) => segment.replace(/^`(.*)`$/, '$1'));
    const withExtensions = match[2] !== 'hasValue';
    const wantEmpty = match[2] === 'empty';
    const negated = match[3] !== undefined;
    return (node) => {
      let values: unknown[] = [node];
      for (const name of path) {
        values = values.flatMap((v) =>
          typeof v === 'object' && v !== null && !Array.isArray(v)
            ? present(v as Record<string, unknown>, name, withExtensions)
            : [],
        );
      }
      const result = wantEmpty ? values.length === 0 : values.length > 0;
      return negated ? !result : result;
    };
  }
  return compileEmptyChain(expression);
}

/** `contained.where(…).trace(…).empty()` with no `contained`: an empty collection stays empty. */
function compileEmptyChain(expression: string): Evident {
  if (!expression.endsWith('.empty()')) return unknown;
  const steps = splitTop(expression.replace(/\./g, ' . '), '.').map((step) => step.replace(/ \. /g, '.'));
  const [first, ...rest] = steps;
  if (first === undefined || !/^[a-z][A-Za-z0-9]*$/.test(first)) return unknown;
  const middle = rest.slice(0, -1);
  if (!middle.every((step) => /^[A-Za-z][A-Za-z0-9]*$/.test(step) || EMPTY_PRESERVING.test(step)))
    return unknown;
  return (node) => (present(node, first).length === 0 ? true : undefined);
}

function compileEvident(expression: string, depth: number): Evident {
  const text = expression.trim();
  if (depth > 6) return unknown;
  if (isWrapped(text)) return compileEvident(text.slice(1, -1), depth + 1);
  const implication = splitTop(text, 'implies');
  if (implication.length === 2) {
    const premise = compileEvident(implication[0] ?? '', depth + 1);
    const conclusion = compileEvident(implication[1] ?? '', depth + 1);
    return (node) => (premise(node) === false || conclusion(node) === true ? true : undefined);
  }
  for (const [op, decisive] of [
    ['or', true],
    ['and', false],
  ] as const) {
    const parts = splitTop(text, op);
    if (parts.length < 2) continue;
    const compiled = parts.map((part) => compileEvident(part, depth + 1));
    return (node) => {
      let open = false;
      for (const part of compiled) {
        const value = part(node);
        if (value === decisive) return decisive;
        if (value === undefined) open = true;
      }
      return open ? undefined : !decisive;
    };
  }
  return compileAtom(text);
}

const cache = new Map<string, Evident>();

export function evidentOutcome(node: Record<string, unknown>, expression: string): Tri {
  let evident = cache.get(expression);
  if (evident === undefined) {
    evident = compileEvident(expression, 0);
    cache.set(expression, evident);
  }
  return evident(node);
}
