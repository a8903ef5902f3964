/**
 * Streams an XML release as a sequence of small element trees: every element whose name is in
 * `names` (and is not inside another such element) is built in memory, handed out, and dropped.
 * A ClaML file is a long list of independent `<Class>` elements and the ICD-10-CM tabular list a
 * list of `<chapter>`s, so this keeps memory to one class or one chapter at a time while the code
 * that reads them can walk an ordinary tree. Parsing is `saxes` (a strict, well-formedness
 * checking SAX parser), never hand-written.
 */

import type { Readable } from 'node:stream';
import { SaxesParser } from 'saxes';
import { TerminologySourceError } from './terminology-source-error.ts';

export interface XmlElement {
  name: string;
  attributes: Readonly<Record<string, string>>;
  /** Child elements and text, in document order. */
  children: (XmlElement | string)[];
}

export class XmlFormatError extends TerminologySourceError {}

/** `source` names the file in errors: `path:line:column: message`. */
export async function* xmlSubtrees(
  input: Readable,
  names: ReadonlySet<string>,
  source = 'XML',
): AsyncGenerator<XmlElement> {
  const parser = new SaxesParser({ xmlns: false, position: true, fileName: source });
  const open: XmlElement[] = [];
  const done: XmlElement[] = [];
  let failure: Error | undefined;

  // After an error saxes goes on parsing; what it builds then is not trusted.
  parser.on('opentag', (tag) => {
    if (failure !== undefined) return;
    const capturing = open.length > 0;
    if (!capturing && !names.has(tag.name)) return;
    const element: XmlElement = { name: tag.name, attributes: { ...tag.attributes }, children: [] };
    open.at(-1)?.children.push(element);
    open.push(element);
  });
  parser.on('closetag', () => {
    if (failure !== undefined) return;
    const element = open.pop();
    if (element !== undefined && open.length === 0) done.push(element);
  });
  const onText = (text: string) => {
    open.at(-1)?.children.push(text);
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('error', (error) => {
    failure ??= new XmlFormatError(error.message);
  });

  // A string decoder keeps a UTF-8 character that straddles two chunks whole.
  input.setEncoding('utf8');
  for await (const chunk of input) {
    parser.write(String(chunk));
    // The elements completed before an error are good; hand them out, then fail.
    yield* done.splice(0);
    if (failure !== undefined) throw failure;
  }
  parser.close();
  yield* done.splice(0);
  if (failure !== undefined) throw failure;
}

export function childElements(element: XmlElement, name?: string): XmlElement[] {
  return element.children.filter(
    (child): child is XmlElement => typeof child !== 'string' && (name === undefined || child.name === name),
  );
}

export function firstChild(element: XmlElement, name: string): XmlElement | undefined {
  return childElements(element, name)[0];
}

/** All the text inside the element, nested elements included, with white space collapsed. */
export function textContent(element: XmlElement): string {
  const parts: string[] = [];
  const collect = (node: XmlElement | string) => {
    if (typeof node === 'string') parts.push(node);
    else for (const child of node.children) collect(child);
  };
  collect(element);
  return parts.join('').replace(/\s+/g, ' ').trim();
}
