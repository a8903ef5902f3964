/** The `Prefer` header of http://hl7.org/fhir/R4/http.html#ops (return=) and search.html#errors (handling=). */
export type ReturnPreference = 'minimal' | 'representation' | 'OperationOutcome';

export function returnPreference(prefer: string | undefined): ReturnPreference | undefined {
  const value = preferToken(prefer, 'return');
  return value === 'minimal' || value === 'representation' || value === 'OperationOutcome'
    ? value
    : undefined;
}

export function preferToken(prefer: string | undefined, name: string): string | undefined {
  if (prefer === undefined) return undefined;
  for (const part of prefer.split(/[,;]/)) {
    const [key, value] = part.split('=').map((s) => s.trim());
    if (key === name && value !== undefined) return value.replace(/^"|"$/g, '');
  }
  return undefined;
}
