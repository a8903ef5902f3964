/**
 * ICPC-2 as the JSON code lists published by national bodies and projects:
 *   - `{ concepts: [{ code, display }] }` (Jembi's Sri Lanka IG extraction, English short titles);
 *   - `[{ code, text }]` (Helsedirektoratet via navikt/diagnosekoder, Norwegian, language `nb`);
 *   - a FHIR CodeSystem is the `fhir` format's job, not this one.
 * The file is a few tens of kilobytes: it is parsed whole.
 */

import type { CodeSystemContent } from '../code-system-content.ts';
import { codeSystemContent } from '../in-memory-content.ts';
import { type Icpc2Entry, type Icpc2Language, icpc2Concepts, icpc2Header } from './icpc2.ts';
import { readSmallTextFile } from './source-stream.ts';
import { TerminologySourceError } from './terminology-source-error.ts';

export interface Icpc2Options {
  version: string;
  /** Language of the titles; a list of `{ code, text }` is taken as Norwegian (`nb`) unless told. */
  language?: Icpc2Language;
  onWarning?(message: string): void;
}

export class Icpc2FormatError extends TerminologySourceError {}

export async function readIcpc2Json(path: string, options: Icpc2Options): Promise<CodeSystemContent> {
  const text = await readSmallTextFile(path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Icpc2FormatError(
      `${path}: not JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const list = Array.isArray(parsed) ? parsed : isObject(parsed) ? parsed.concepts : undefined;
  if (!Array.isArray(list))
    throw new Icpc2FormatError(`${path}: expected a list of codes or { "concepts": [...] }`);
  const entries = list.map((item, index) => entryOf(item, `${path} item ${index}`));
  const norwegianShape = entries.length > 0 && list.every((item) => isObject(item) && 'text' in item);
  const language = options.language ?? (norwegianShape ? 'nb' : 'en');
  return codeSystemContent(
    icpc2Header(options.version, language),
    icpc2Concepts(entries, { language, onWarning: options.onWarning }),
  );
}

function entryOf(item: unknown, where: string): Icpc2Entry {
  if (!isObject(item) || typeof item.code !== 'string') throw new Icpc2FormatError(`${where}: no "code"`);
  const display = typeof item.display === 'string' ? item.display : item.text;
  if (typeof display !== 'string')
    throw new Icpc2FormatError(`${where}: no "display" or "text" for ${item.code}`);
  return { code: item.code.trim(), display: display.trim() };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
