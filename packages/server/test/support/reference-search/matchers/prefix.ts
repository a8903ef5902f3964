/** http://hl7.org/fhir/R4/search.html#prefix: two letters before an ordered value; `eq` when absent. */
export const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;

export type Prefix = (typeof PREFIXES)[number];

export function splitPrefix(value: string): { prefix: Prefix; rest: string } {
  const head = value.slice(0, 2);
  const prefix = PREFIXES.find((candidate) => candidate === head);
  return prefix === undefined ? { prefix: 'eq', rest: value } : { prefix, rest: value.slice(2) };
}
