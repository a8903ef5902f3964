/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the one byte sequence of a JSON value that
 * signatures (DESIGN.md D9) and ledger leaves (D8) hash. JCS is defined on top of ECMAScript's own
 * serialisation, so the primitives are exactly `JSON.stringify`'s (§3.2.2: numbers as
 * Number.prototype.toString, strings with its escaping); what JCS adds is the property order
 * (§3.2.3: sorted by UTF-16 code units, which is what `<` on JS strings compares) and the I-JSON
 * restrictions (RFC 7493: no NaN/Infinity, no lone surrogates), which make it fail instead of
 * guessing. The output is a JS string; hash its UTF-8 encoding.
 */
export function canonicalJson(value: unknown): string {
  try {
    return canonical(value);
  } catch (error) {
    // Serialise again, tracking where it is, only to say where the value is not JSON data: every
    // write hashes its resource, and a path string per element would cost more than the rest.
    if (error === NOT_JSON_DATA) return serialise(value, '$');
    throw error;
  }
}

export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
}

const NOT_JSON_DATA = new CanonicalJsonError('not JSON data');

/** `serialise` without the paths: throws NOT_JSON_DATA where `serialise` throws its error. */
function canonical(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw NOT_JSON_DATA;
      return JSON.stringify(value);
    case 'string':
      if (LONE_SURROGATE.test(value)) throw NOT_JSON_DATA;
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let index = 0; index < value.length; index++) {
          if (index > 0) out += ',';
          out += canonical(value[index]);
        }
        return `${out}]`;
      }
      const prototype: unknown = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) throw NOT_JSON_DATA;
      let out = '{';
      // The default sort compares strings by UTF-16 code units, as §3.2.3 asks.
      for (const key of Object.keys(value).sort()) {
        const member: unknown = Reflect.get(value, key);
        if (member === undefined) continue;
        if (LONE_SURROGATE.test(key)) throw NOT_JSON_DATA;
        if (out.length > 1) out += ',';
        out += `${JSON.stringify(key)}:${canonical(member)}`;
      }
      return `${out}}`;
    }
    default:
      throw NOT_JSON_DATA;
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function serialise(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`${path}: ${value} is not a JSON number`);
      // ECMAScript Number serialisation; JSON.stringify also turns -0 into "0" as §3.2.2.3 asks.
      return JSON.stringify(value);
    case 'string':
      return serialiseString(value, path);
    case 'object':
      return Array.isArray(value) ? serialiseArray(value, path) : serialiseObject(value, path);
    default:
      throw new CanonicalJsonError(`${path}: a ${typeof value} is not JSON data`);
  }
}

function serialiseString(value: string, path: string): string {
  if (LONE_SURROGATE.test(value)) throw new CanonicalJsonError(`${path}: string holds a lone surrogate`);
  return JSON.stringify(value);
}

function serialiseArray(values: readonly unknown[], path: string): string {
  return `[${values.map((item, index) => serialise(item, `${path}[${index}]`)).join(',')}]`;
}

function serialiseObject(value: object, path: string): string {
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    // A Date, Map or class instance has no single JSON meaning: refuse rather than hash `{}`.
    throw new CanonicalJsonError(`${path}: only plain objects are JSON data`);
  }
  const members: string[] = [];
  // Properties whose value is `undefined` are absent, as in JSON.stringify (FHIR JSON never has them).
  const keys = Object.keys(value).sort(compareCodeUnits);
  for (const key of keys) {
    const member: unknown = Reflect.get(value, key);
    if (member === undefined) continue;
    members.push(`${serialiseString(key, path)}:${serialise(member, `${path}.${key}`)}`);
  }
  return `{${members.join(',')}}`;
}

function compareCodeUnits(left: string, right: string): number {
  if (left === right) return 0;
  return left < right ? -1 : 1;
}
