/**
 * Concurrent transactions that touch the same resources (http://hl7.org/fhir/R4/http.html#transaction):
 * every write locks its resource's row (`for update`) and every conditional entry locks its
 * criteria, so the transactions serialise on what they share and no update is lost. Two
 * transactions can still lock in opposite orders: PostgreSQL then aborts one with a deadlock
 * (40P01), or a create races another for a new id. Nothing of the aborted transaction was written,
 * so it is run again from the start (after a short random pause), against what the other one
 * committed; after `TRANSACTION_ATTEMPTS` it is answered 409 (`transient`), which a client may
 * retry. transaction.ts makes such collisions rare: it runs deletes and updates in (type, id) order.
 */
import { FhirError, fhirError } from '@concordia/fhir';
import { sqlState } from '../store/database.ts';

export const TRANSACTION_ATTEMPTS = 4;

const DEADLOCK_DETECTED = '40P01';
const SERIALIZATION_FAILURE = '40001';

/** Runs `attempt` until it succeeds, fails for another reason, or runs out of attempts. */
export async function withTransientRetry<T>(attempt: () => Promise<T>): Promise<T> {
  for (let number = 1; ; number += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (!isTransient(error)) throw error;
      if (number >= TRANSACTION_ATTEMPTS) throw asConflict(error);
      // A random pause, so the transactions that collided do not collide again in step.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * number));
    }
  }
}

/**
 * A deadlock or serialization failure (raw, or as the store's 409 `transient`), or a create that
 * lost the race for a new id (409 `conflict`): conditions that a fresh attempt resolves.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof FhirError) {
    return error.kind === 'conflict' && error.issues.some((issue) => issue.code !== 'duplicate');
  }
  const state = sqlState(error);
  return state === DEADLOCK_DETECTED || state === SERIALIZATION_FAILURE;
}

function asConflict(error: unknown): FhirError {
  if (error instanceof FhirError) return error;
  return fhirError(
    'conflict',
    'transient',
    `The transaction collided with concurrent transactions ${TRANSACTION_ATTEMPTS} times; retry it`,
  );
}
