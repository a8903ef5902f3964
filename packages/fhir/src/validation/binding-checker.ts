/**
 * How the validator checks coded values against their bindings (http://hl7.org/fhir/R4/terminologies.html#strength)
 * without knowing where terminology lives: the server passes an adapter over its terminology
 * service; a browser or test may pass a small in-memory one.
 */
export interface BindingCoding {
  system?: string;
  version?: string;
  code: string;
  display?: string;
}

export type BindingCheck =
  /** The value set is known and the code is (`valid: true`) or is not in it; `message` says why. */
  | { known: true; valid: boolean; message?: string }
  /** The value set (or its code system) is not available here: the binding cannot be checked. */
  | { known: false; message?: string };

export interface BindingChecker {
  /** Is `coding` in the value set `valueSet` (canonical URL, optionally `|version`)? */
  check(valueSet: string, coding: BindingCoding): Promise<BindingCheck>;
}
