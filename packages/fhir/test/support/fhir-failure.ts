import { FhirError } from '../../src/outcome.ts';

/** Runs `run`, which must throw a `FhirError`, and returns it for assertions on kind and issues. */
export function failure(run: () => unknown): FhirError {
  try {
    run();
  } catch (error) {
    if (error instanceof FhirError) return error;
    throw error;
  }
  throw new Error('expected a FhirError');
}
