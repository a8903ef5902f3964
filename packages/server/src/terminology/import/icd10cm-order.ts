/**
 * Reads the CDC ICD-10-CM order file (`icd10cm_order_YYYY.txt`), fixed width as CDC's
 * `icd10cm_order_YYYY.pdf` lays it out:
 *
 *   columns 1–5 order number · 7–13 code (no dot) · 15 header flag (0 header, 1 valid for
 *   HIPAA-covered transactions, i.e. billable) · 17–76 short title · 78– long title
 *
 * The file has no hierarchy; a code's parent is its longest proper prefix that is itself in the
 * file (`S00.00XA` → `S00.00`, as `S00.00X` does not exist), and the file lists every parent
 * before its children, which the order numbers guarantee.
 */

import type { CodeSystemContent, ConceptRecord } from '../code-system-content.ts';
import { dottedIcd10cmCode, icd10cmHeader } from './icd10cm.ts';
import { readLines } from './source-stream.ts';
import { TerminologySourceError } from './terminology-source-error.ts';

export interface OrderFileEntry {
  order: number;
  /** As written in the file, without the dot. */
  code: string;
  billable: boolean;
  shortTitle: string;
  longTitle: string;
}

export class OrderFileFormatError extends TerminologySourceError {}

export interface Icd10cmOrderOptions {
  /** The release, e.g. `2021`; taken from a year in the file name when absent. */
  version?: string;
}

export function readIcd10cmOrderFile(path: string, options: Icd10cmOrderOptions = {}): CodeSystemContent {
  const version = options.version ?? releaseYearFromName(path);
  if (version === undefined) {
    throw new OrderFileFormatError(`${path}: no release year in the file name; pass the version`);
  }
  return { header: icd10cmHeader(version), concepts: orderFileConcepts(path) };
}

/** `icd10cm-order-Jan-2021.txt.gz`, `icd10cm_order_2021.txt` → `2021`. */
export function releaseYearFromName(path: string): string | undefined {
  const name = path.split(/[\\/]/).at(-1) ?? path;
  return /(?:^|\D)(20\d\d)(?:\D|$)/.exec(name)?.[1];
}

async function* orderFileConcepts(path: string): AsyncGenerator<ConceptRecord> {
  const seen = new Set<string>();
  let lineNumber = 0;
  for await (const line of readLines(path)) {
    lineNumber += 1;
    if (line.trim() === '') continue;
    const entry = parseOrderLine(line);
    if (entry === undefined) throw new OrderFileFormatError(`${path}:${lineNumber}: not an order-file line`);
    const parent = longestKnownPrefix(entry.code, seen);
    seen.add(entry.code);
    yield {
      code: dottedIcd10cmCode(entry.code),
      display: entry.longTitle,
      parents: parent === undefined ? [] : [dottedIcd10cmCode(parent)],
      selectable: entry.billable,
      properties: [{ code: 'short-title', value: { type: 'string', value: entry.shortTitle } }],
    };
  }
}

function longestKnownPrefix(code: string, known: ReadonlySet<string>): string | undefined {
  for (let length = code.length - 1; length >= 3; length -= 1) {
    const prefix = code.slice(0, length);
    if (known.has(prefix)) return prefix;
  }
  return undefined;
}

/** One line of the order file, or `undefined` when it is not one. */
export function parseOrderLine(line: string): OrderFileEntry | undefined {
  if (line.length < 17) return undefined;
  const order = line.slice(0, 5);
  const code = line.slice(6, 13).trimEnd();
  const flag = line.slice(14, 15);
  if (!/^\d{5}$/.test(order) || !/^[A-Z0-9]{3,7}$/.test(code) || (flag !== '0' && flag !== '1')) {
    return undefined;
  }
  if (line[5] !== ' ' || line[13] !== ' ' || line[15] !== ' ') return undefined;
  const shortTitle = line.slice(16, 76).trim();
  const longTitle = line.slice(77).trim();
  return {
    order: Number(order),
    code,
    billable: flag === '1',
    shortTitle,
    longTitle: longTitle === '' ? shortTitle : longTitle,
  };
}

/** The line as CDC writes it; the inverse of `parseOrderLine` (used by its property tests). */
export function formatOrderLine(entry: OrderFileEntry): string {
  return [
    String(entry.order).padStart(5, '0'),
    entry.code.padEnd(7),
    entry.billable ? '1' : '0',
    entry.shortTitle.padEnd(60),
    entry.longTitle,
  ].join(' ');
}
