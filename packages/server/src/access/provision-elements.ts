/**
 * The elements of a Consent provision (consent.html#Consent.provision) read as plain data — its
 * actors, classes, labels, codes, purposes, data, periods — and how the conditions of two levels of
 * one path combine. consent-provisions.ts walks the provision trees with them.
 */

/** A security label (Coding) the rule is about. */
export interface Label {
  system: string;
  code: string;
}

/** `provision.data`: a resource, with what is related to it (consent-data-meaning). */
export interface DataReference {
  meaning: 'instance' | 'related' | 'dependents';
  type: string;
  id: string;
}

/** `provision.dataPeriod` as instants (ISO 8601); a missing bound is open. */
export interface DataPeriod {
  start?: string;
  end?: string;
}

/** The `provision.data` meanings compiled (consent-rules.ts); `authoredby` is not. */
const DATA_MEANINGS = new Set(['instance', 'related', 'dependents']);

/** Every Coding of a CodeableConcept list (`action`, `code`), with or without system. */
export function codingsOf(concepts: unknown): { system?: string; code: string }[] {
  if (!Array.isArray(concepts)) return [];
  return concepts
    .filter(isObject)
    .flatMap((concept) => (Array.isArray(concept.coding) ? concept.coding.filter(isObject) : []))
    .flatMap((coding) =>
      typeof coding.code === 'string'
        ? [{ ...(typeof coding.system === 'string' ? { system: coding.system } : {}), code: coding.code }]
        : [],
    );
}

/** `provision.class` codes (resource types, binding consent-content-class); `*` when none. */
export function classesOf(node: Record<string, unknown>): string[] {
  const codes = Array.isArray(node.class)
    ? node.class.filter(isObject).flatMap((coding) => (typeof coding.code === 'string' ? [coding.code] : []))
    : [];
  return codes.length > 0 ? codes : ['*'];
}

export function referencesOf(actors: unknown): string[] {
  if (!Array.isArray(actors)) return [];
  return actors.filter(isObject).flatMap((actor) => {
    const reference = isObject(actor.reference) ? actor.reference.reference : undefined;
    return typeof reference === 'string' ? [reference] : [];
  });
}

export function labelsOf(value: unknown): Label[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  // A label without a system cannot match an indexed `_security` token: it is left out.
  return value
    .filter(isObject)
    .flatMap((coding) =>
      typeof coding.system === 'string' && typeof coding.code === 'string'
        ? [{ system: coding.system, code: coding.code }]
        : [],
    );
}

/** `provision.code`: Codings of the row's `code` parameter; one without system matches any system. */
export function codesOf(value: unknown): Label[] | undefined {
  const codings = codingsOf(value);
  return codings.length === 0
    ? undefined
    : codings.map((coding) => ({ system: coding.system ?? '', code: coding.code }));
}

/** `provision.purpose` codes (v3-PurposeOfUse, as the request's `X-Purpose-Of-Use` names them). */
export function purposesOf(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.filter(isObject).flatMap((coding) => (typeof coding.code === 'string' ? [coding.code] : []));
}

/** `provision.data` the decision compiles (`DATA_MEANINGS`), with a `Type/id` reference. */
export function dataOf(node: Record<string, unknown>): DataReference[] {
  if (!Array.isArray(node.data)) return [];
  return node.data.filter(isObject).flatMap((item) => {
    const meaning = item.meaning;
    const reference = isObject(item.reference) ? item.reference.reference : undefined;
    const match =
      typeof reference === 'string' ? /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(reference) : null;
    if (
      typeof meaning !== 'string' ||
      !DATA_MEANINGS.has(meaning) ||
      match?.[1] === undefined ||
      match[2] === undefined
    )
      return [];
    return [{ meaning: meaning as DataReference['meaning'], type: match[1], id: match[2] }];
  });
}

/** `provision.dataPeriod` as instants; `undefined` when absent. */
export function dataPeriodOf(value: unknown): DataPeriod | undefined {
  if (!isObject(value)) return undefined;
  const start = typeof value.start === 'string' ? bounds(value.start)?.low : undefined;
  const end = typeof value.end === 'string' ? bounds(value.end)?.high : undefined;
  if (start === undefined && end === undefined) return undefined;
  return {
    ...(start !== undefined ? { start: new Date(start).toISOString() } : {}),
    ...(end !== undefined ? { end: new Date(end).toISOString() } : {}),
  };
}

/** Both periods at once: the later start, the earlier end; `null` when they do not meet. */
export function intersectPeriods(
  above: DataPeriod | undefined,
  own: DataPeriod | undefined,
): DataPeriod | null | undefined {
  if (above === undefined || own === undefined) return above ?? own;
  const later = (a?: string, b?: string) => (a === undefined ? b : b === undefined || a > b ? a : b);
  const earlier = (a?: string, b?: string) => (a === undefined ? b : b === undefined || a < b ? a : b);
  const start = later(above.start, own.start);
  const end = earlier(above.end, own.end);
  if (start !== undefined && end !== undefined && start >= end) return null;
  return { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) };
}

/** Resources on two levels of one path: approximated, like labels, by those both list. */
export function intersectData(
  above: readonly DataReference[] | undefined,
  own: readonly DataReference[] | undefined,
): readonly DataReference[] | undefined {
  if (above === undefined || own === undefined) return above ?? own;
  return above.filter((item) =>
    own.some((other) => other.meaning === item.meaning && other.type === item.type && other.id === item.id),
  );
}

export function intersectPurposes(
  above: readonly string[] | undefined,
  own: readonly string[] | undefined,
): readonly string[] | undefined {
  if (above === undefined || own === undefined) return above ?? own;
  return above.filter((purpose) => own.includes(purpose));
}

export function intersect(above: readonly string[] | undefined, own: readonly string[]): readonly string[] {
  return above === undefined ? own : above.filter((type) => own.includes(type));
}

/**
 * Labels on two levels of one path: a resource must carry a label of both, approximated by the
 * labels both list (a resource carrying one label of each, different ones, is not matched).
 */
export function intersectLabels(
  above: readonly Label[] | undefined,
  own: readonly Label[] | undefined,
): readonly Label[] | undefined {
  if (above === undefined) return own;
  if (own === undefined) return above;
  return above.filter((label) =>
    own.some((other) => other.system === label.system && other.code === label.code),
  );
}

/**
 * A FHIR Period covers `now`: no start or a start at or before it, no end or an end after it. A
 * partial date (`2026`, `2026-05`, `2026-05-31`) stands for all of its year, month or day (UTC).
 */
export function periodCovers(period: unknown, now: Date): boolean {
  if (!isObject(period)) return true;
  const start = typeof period.start === 'string' ? bounds(period.start) : undefined;
  const end = typeof period.end === 'string' ? bounds(period.end) : undefined;
  const time = now.getTime();
  return (start === undefined || start.low <= time) && (end === undefined || time < end.high);
}

function bounds(value: string): { low: number; high: number } | undefined {
  const partial = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$/.exec(value);
  if (partial !== null) {
    const year = Number(partial[1]);
    const month = partial[2] === undefined ? undefined : Number(partial[2]) - 1;
    const day = partial[3] === undefined ? undefined : Number(partial[3]);
    const low = Date.UTC(year, month ?? 0, day ?? 1);
    const high =
      day !== undefined
        ? Date.UTC(year, month ?? 0, day + 1)
        : month !== undefined
          ? Date.UTC(year, month + 1, 1)
          : Date.UTC(year + 1, 0, 1);
    return { low, high };
  }
  const instant = Date.parse(value);
  return Number.isNaN(instant) ? undefined : { low: instant, high: instant };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
