/**
 * Narrowing helpers for parsed JSON: the Synthea files and the sample manifest arrive as `unknown`
 * and are read through these instead of being cast.
 */
export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function stringAt(object: JsonObject, key: string): string | undefined {
  const value = object[key];
  return typeof value === 'string' ? value : undefined;
}

export function objectsAt(object: JsonObject, key: string): JsonObject[] {
  const value = object[key];
  if (Array.isArray(value)) return value.filter(isJsonObject);
  return isJsonObject(value) ? [value] : [];
}
